import Testing

@Test func placeholder_GearboxAgentTests() { #expect(1 + 1 == 2) }
