import FuzzFixtures
import FuzzSupport
import GearboxAgent
import GearboxControl

/// One line on the control socket, as any local user may send it: decoded, and an override
/// taken as far as the agent takes it (its scope and action resolved and checked against the
/// fixture platform, added to a set, answered as JSON, turned into per-domain pins, expired).
/// The same line is also decoded as a response, which is what gearboxctl does with the
/// agent's answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let line = text(data, size)
    _ = ControlResponse.decode(line: line)
    guard let request = try? ControlRequest.decode(line: line) else { return 0 }
    _ = request.json().rendered()
    if case .override(let o) = request {
        let scope = Override.Scope(o.scope)
        let action = Override.Action(o.action)
        if (try? OverrideValidation.check(scope: scope, action: action, platform: fuzzPlatform,
                                          queueNames: fuzzQueueNames)) != nil {
            var overrides = OverrideSet()
            let added = overrides.add(scope: scope, action: action, expiresAt: o.duration.map { 100 + $0 })
            _ = added.json(now: 100).rendered()
            _ = overrides.pins(on: fuzzPlatform)
            _ = overrides.expire(now: 100)
        }
    }
    return 0
}

runLibFuzzer(fuzz)
