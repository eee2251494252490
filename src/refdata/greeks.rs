//! Black-76 option greeks on the forward, with the implied volatility solved from the
//! option's market price by Jäckel's "Let's Be Rational" (the `implied-vol` crate), the
//! way OpenAlgo's `optiongreeks` does it with py_vollib.
//!
//! Units follow OpenAlgo: volatility in percent, theta per calendar day, vega and rho per
//! one percentage point, time in years of 365 days.

#![forbid(unsafe_code)]

use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatility, SpecialFn};

/// Inputs of one valuation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contract {
    /// Forward (or spot used as the forward) price.
    pub forward: f64,
    /// Strike.
    pub strike: f64,
    /// Years to expiry (> 0).
    pub years: f64,
    /// Continuously compounded rate, as a fraction (0.065 = 6.5 %).
    pub rate: f64,
    /// Call (CE) or put (PE).
    pub is_call: bool,
}

/// The greeks of one contract at one volatility.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Greeks {
    /// Discounted Black-76 price.
    pub price: f64,
    /// dPrice/dForward.
    pub delta: f64,
    /// d2Price/dForward2.
    pub gamma: f64,
    /// Price change per calendar day.
    pub theta: f64,
    /// Price change per one point of volatility.
    pub vega: f64,
    /// Price change per one point of rate.
    pub rho: f64,
}

/// Why no implied volatility exists for a price.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IvError {
    /// An input is not a positive finite number (or the option has expired).
    #[error("invalid input: {0}")]
    Input(&'static str),
    /// The price lies outside what any volatility can produce (below intrinsic value).
    #[error("option price {price} is below its intrinsic value {intrinsic}: no implied volatility")]
    OutOfRange {
        /// The price given.
        price: f64,
        /// The discounted intrinsic value.
        intrinsic: f64,
    },
}

fn n_cdf(x: f64) -> f64 {
    DefaultSpecialFn::norm_cdf(x)
}

fn n_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn check(c: &Contract) -> Result<(), IvError> {
    let ok = |v: f64| v.is_finite() && v > 0.0;
    if !ok(c.forward) {
        return Err(IvError::Input("forward must be > 0"));
    }
    if !ok(c.strike) {
        return Err(IvError::Input("strike must be > 0"));
    }
    if !ok(c.years) {
        return Err(IvError::Input("the option has expired"));
    }
    if !c.rate.is_finite() {
        return Err(IvError::Input("interest rate must be finite"));
    }
    Ok(())
}

/// The implied volatility (a fraction) of a discounted option price.
pub fn implied_vol(c: &Contract, price: f64) -> Result<f64, IvError> {
    check(c)?;
    if !price.is_finite() || price <= 0.0 {
        return Err(IvError::Input("option price must be > 0"));
    }
    let df = (-c.rate * c.years).exp();
    let undiscounted = price / df;
    let iv = ImpliedBlackVolatility::builder()
        .forward(c.forward)
        .strike(c.strike)
        .expiry(c.years)
        .is_call(c.is_call)
        .option_price(undiscounted)
        .build()
        .and_then(|b| b.calculate::<DefaultSpecialFn>())
        .filter(|v| v.is_finite() && *v > 0.0);
    iv.ok_or_else(|| {
        let intrinsic =
            if c.is_call { c.forward - c.strike } else { c.strike - c.forward }.max(0.0) * df;
        IvError::OutOfRange { price, intrinsic }
    })
}

/// Black-76 price and greeks at volatility `sigma` (a fraction).
pub fn black76(c: &Contract, sigma: f64) -> Greeks {
    let (f, k, t, r) = (c.forward, c.strike, c.years, c.rate);
    let df = (-r * t).exp();
    let sq = sigma * t.sqrt();
    let d1 = ((f / k).ln() + 0.5 * sigma * sigma * t) / sq;
    let d2 = d1 - sq;
    let (price, delta, carry) = if c.is_call {
        let p = df * (f * n_cdf(d1) - k * n_cdf(d2));
        (p, df * n_cdf(d1), r * df * (f * n_cdf(d1) - k * n_cdf(d2)))
    } else {
        let p = df * (k * n_cdf(-d2) - f * n_cdf(-d1));
        (p, -df * n_cdf(-d1), r * df * (k * n_cdf(-d2) - f * n_cdf(-d1)))
    };
    let gamma = df * n_pdf(d1) / (f * sq);
    let vega = f * df * n_pdf(d1) * t.sqrt();
    // dV/dt with t the time left: -F e^{-rT} n(d1) sigma / (2 sqrt T) + r V.
    let theta_year = -f * df * n_pdf(d1) * sigma / (2.0 * t.sqrt()) + carry;
    Greeks {
        price,
        delta,
        gamma,
        theta: theta_year / 365.0,
        vega: vega / 100.0,
        rho: -t * price / 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(is_call: bool) -> Contract {
        Contract { forward: 100.0, strike: 100.0, years: 1.0, rate: 0.05, is_call }
    }

    #[test]
    fn put_call_parity_holds() {
        for (f, k) in [(100.0, 90.0), (100.0, 100.0), (100.0, 120.0)] {
            let call = Contract { forward: f, strike: k, ..c(true) };
            let put = Contract { is_call: false, ..call };
            let (gc, gp) = (black76(&call, 0.25), black76(&put, 0.25));
            let df = (-0.05f64).exp();
            assert!((gc.price - gp.price - df * (f - k)).abs() < 1e-9, "{f} {k}");
            assert!((gc.delta - gp.delta - df).abs() < 1e-12);
            assert!((gc.gamma - gp.gamma).abs() < 1e-12);
            assert!((gc.vega - gp.vega).abs() < 1e-12);
        }
    }

    #[test]
    fn known_value_and_round_trip() {
        // ATM Black-76, F=K=100, T=1, r=5 %, sigma 20 %: e^-0.05 (2 N(0.1) - 1) x 100 = 7.5771.
        let g = black76(&c(true), 0.2);
        assert!((g.price - 7.577_082).abs() < 1e-4, "{}", g.price);
        assert!(g.delta > 0.0 && g.delta < 1.0);
        for (k, call) in [(80.0, true), (100.0, false), (130.0, true)] {
            let con = Contract { strike: k, is_call: call, ..c(call) };
            let price = black76(&con, 0.31).price;
            let iv = implied_vol(&con, price).unwrap();
            assert!((iv - 0.31).abs() < 1e-9, "{k}: {iv}");
        }
    }

    #[test]
    fn impossible_prices_are_errors_not_panics() {
        let deep = Contract { strike: 50.0, ..c(true) };
        assert!(matches!(implied_vol(&deep, 10.0), Err(IvError::OutOfRange { .. })));
        assert!(implied_vol(&c(true), -1.0).is_err());
        assert!(implied_vol(&Contract { years: 0.0, ..c(true) }, 5.0).is_err());
        assert!(implied_vol(&c(true), f64::NAN).is_err());
    }
}
