import Testing

@Test func placeholder_GearboxConfigTests() { #expect(1 + 1 == 2) }
