import Testing
@testable import GearboxConfig

@Suite struct TOMLParserTests {
    @Test func parsesTheProductExamples() throws {
        let text = """
            # comment
            [[domain]]
            name = "big"              # optional
            cpus = "4-5"
            capacity = 1024
            idle_watts = 0.05
            opp = [ { khz = 408000, watts = 0.21 },
                    { khz = 1_800_000, watts = 1.9 } ]   # across lines
            transition_latency_us = 40

            [[domain]]
            cpus = 'literal'
            flag = true
            a.b = -3e2
            """
        let root = try TOMLParser.parse(text)
        guard case .array(let domains)? = root["domain"]?.value, domains.count == 2,
              case .table(let first) = domains[0].value, case .table(let second) = domains[1].value
        else { Issue.record("no domain array"); return }
        guard case .string("big")? = first["name"]?.value else { Issue.record("name"); return }
        #expect(first["name"]?.line == 3)
        guard case .array(let opp)? = first["opp"]?.value, case .table(let p1) = opp[1].value,
              case .integer(1_800_000)? = p1["khz"]?.value else { Issue.record("opp"); return }
        #expect(opp[1].line == 8)
        #expect(first["transition_latency_us"]?.line == 9)
        guard case .bool(true)? = second["flag"]?.value, case .table(let a)? = second["a"]?.value,
              case .float(-300)? = a["b"]?.value else { Issue.record("second"); return }
        #expect(second.line == 11)
    }

    @Test(arguments: [
        ("x = ", 1, "expected a value"),
        ("x = 1\nx = 2", 2, "defined twice"),
        ("x = \"open", 1, "unterminated string"),
        ("x = [1, 2", 1, "expected ',' or ']'"),
        ("x = 1 2", 1, "after value"),
        ("[a]\n[a]", 2, "defined twice"),
        ("x = 1979-05-27T07:32:00Z", 1, "dates"),
        ("x = bare", 1, "strings need quotes"),
        ("\n\nx = { a = 1 b = 2 }", 3, "inline table"),
    ])
    func refusesBrokenTOMLWithTheLine(text: String, line: Int, message: String) {
        #expect {
            try TOMLParser.parse(text)
        } throws: { error in
            guard let error = error as? TOMLParser.SyntaxError else { return false }
            return error.line == line && error.message.contains(message)
        }
    }
}
