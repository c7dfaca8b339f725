import Testing

@Test func placeholder_GearboxCoreTests() { #expect(1 + 1 == 2) }
