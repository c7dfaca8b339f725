import Foundation
import GearboxCore
import Testing

@Suite struct GammaTests {
    @Test func incompleteGammaMatchesClosedForms() {
        for x in [0.01, 0.3, 1.0, 2.5, 7.0, 30.0] {
            #expect(abs(IncompleteGamma.lower(1, x) - (1 - exp(-x))) < 1e-13)
            #expect(abs(IncompleteGamma.lower(2, x) - (1 - (1 + x) * exp(-x))) < 1e-13)
            #expect(abs(IncompleteGamma.lower(0.5, x) - erf(x.squareRoot())) < 1e-13)
            let q3 = exp(-x) * (1 + x + x * x / 2)
            #expect(abs(IncompleteGamma.upper(3, x) - q3) <= 1e-12 * max(q3, 1e-3))
        }
    }

    /// `∫_0^t e^{-η(t-u)} f(u) du` by brute-force midpoint quadrature.
    func quadrature(_ s: GammaService, eta: Double, t: Double) -> Double {
        let n = 100_000
        var sum = 0.0
        let k = s.shape, theta = s.scale
        for i in 0..<n {
            let v = (Double(i) + 0.5) / Double(n)
            if k < 1 {
                // u = t v^(1/k) removes the u^(k-1) singularity at 0: f(u) du becomes
                // t^k / (k Γ(k) θ^k) e^{-u/θ} dv.
                let u = t * pow(v, 1 / k)
                let density = pow(t, k) / k / (tgamma(k) * pow(theta, k)) * exp(-u / theta)
                sum += exp(-eta * (t - u)) * density / Double(n)
            } else {
                let u = t * v
                let density = pow(u, k - 1) * exp(-u / theta) / (tgamma(k) * pow(theta, k))
                sum += exp(-eta * (t - u)) * density * t / Double(n)
            }
        }
        return sum
    }

    @Test(arguments: [0.5, 1.0, 2.0, 4.0])
    func convolutionMatchesQuadrature(shape: Double) {
        let service = GammaService(rate: 1, shape: shape, scale: 0.001 / shape)
        // Both sides of the pole: ηθ < 1 uses the rescaled gamma, ηθ ≥ 1 the power series.
        for eta in [200.0, 900.0 * shape, 1000.0 * shape, 1500.0 * shape] {
            for t in [0.0005, 0.002, 0.008] {
                let exact = quadrature(service, eta: eta, t: t)
                let closed = service.convolvedWithExponential(decay: eta, at: t)
                #expect(abs(closed - exact) <= 2e-5 * exact, "k \(shape) η \(eta) t \(t): \(closed) vs \(exact)")
            }
        }
    }

    @Test func momentGeneratingFunctionMatchesDefinition() {
        let s = GammaService(rate: 1, shape: 2, scale: 0.5)
        // E[e^{ηS}] for gamma(2, 0.5) at η = 1: (1 - 0.5)^-2 = 4; derivative k θ (1-ηθ)^-3 = 8.
        #expect(abs(s.mgf(1) - 4) < 1e-12)
        #expect(abs(s.mgfDerivative(1) - 8) < 1e-12)
    }
}
