import Testing

@Test func placeholder_GearboxLinuxTests() { #expect(1 + 1 == 2) }
