import FuzzSupport
import GearboxControl

/// The JSON parser behind the control socket and gearboxctl. A value that parses must render
/// (compact and pretty) to text that parses back to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let value = try? JSONParser.parse(text(data, size)) else { return 0 }
    for pretty in [false, true] {
        let rendered = value.rendered(pretty: pretty)
        guard let again = try? JSONParser.parse(rendered) else {
            fatalError("rendered JSON does not parse: \(rendered.debugDescription)")
        }
        precondition(again == value, "JSON changed across render and parse: \(rendered.debugDescription)")
    }
    return 0
}

runLibFuzzer(fuzz)
