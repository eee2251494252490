//! Cash and margin. Every change keeps
//! `available + used_margin + holdings cost == capital + realized` (holdings: [`super::holdings`]).

use crate::event::FundsView;
use crate::message::Msg;
use crate::msg;
use crate::types::{ContractValue, Money, Price, Qty, div_round};
use serde::{Deserialize, Serialize};

/// The account's funds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funds {
    /// Cash free for new orders.
    pub available: Money,
    /// Margin blocked by working orders and open positions.
    pub used_margin: Money,
    /// Realized P&L since the start or the last funds reset, all positions.
    pub realized: Money,
    /// Realized P&L since the last session boundary (OpenAlgo's `today_realized_pnl`,
    /// `m2mrealized`).
    pub today_realized: Money,
    /// Funds resets so far.
    pub reset_count: u32,
    /// Event time of the last funds reset, epoch ns; until the first reset, the account's
    /// creation (the first journaled event, stamped by [`super::Exec::apply`]); 0 before.
    pub last_reset_ns: i64,
}

impl Funds {
    /// Fresh funds with `capital` available.
    pub fn new(capital: Money) -> Funds {
        Funds {
            available: capital,
            used_margin: Money::ZERO,
            realized: Money::ZERO,
            today_realized: Money::ZERO,
            reset_count: 0,
            last_reset_ns: 0,
        }
    }

    /// The view execution publishes.
    pub fn view(&self) -> FundsView {
        FundsView {
            available: self.available,
            used_margin: self.used_margin,
            realized: self.realized,
            today_realized: self.today_realized,
            reset_count: self.reset_count,
            last_reset_ns: self.last_reset_ns,
        }
    }

    /// Checks that `required` can be blocked: OpenAlgo's message otherwise.
    pub fn check(&self, required: Money) -> Result<(), Msg> {
        if required <= self.available {
            return Ok(());
        }
        Err(msg!(
            "Insufficient funds. Required: ₹{}, Available: ₹{}, Shortage: ₹{}",
            required,
            self.available,
            required.minus(self.available)
        ))
    }

    /// Moves `amount` from available to used margin.
    pub fn block(&mut self, amount: Money) {
        self.used_margin = self.used_margin.plus(amount);
        self.available = self.available.minus(amount);
    }

    /// Releases `amount` of margin and books `realized`: used -= amount;
    /// available += amount + realized.
    pub fn release(&mut self, amount: Money, realized: Money) {
        self.used_margin = self.used_margin.minus(amount);
        self.available = self.available.plus(amount).plus(realized);
        self.realized = self.realized.plus(realized);
        self.today_realized = self.today_realized.plus(realized);
    }

    /// Books `realized` without touching margin (a sale from holdings at settlement).
    pub fn credit(&mut self, cash: Money, realized: Money) {
        self.available = self.available.plus(cash);
        self.realized = self.realized.plus(realized);
        self.today_realized = self.today_realized.plus(realized);
    }
}

/// `|qty| x reference x contract value / leverage`, rounded half away from zero once (the
/// contract value's sub-units and the leverage divide the exact product together),
/// saturating.
pub fn margin(qty: Qty, reference: Price, cv: ContractValue, leverage: i64) -> Money {
    let n = Qty(qty.0.unsigned_abs().min(i64::MAX as u64) as i64);
    let den = i128::from(ContractValue::SCALE) * i128::from(leverage.max(1));
    let m = div_round(cv.exact(reference, n), den);
    Money(m.clamp(0, i128::from(i64::MAX)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_and_message() {
        let px = Price(8_125_000); // 812.50
        let one = ContractValue::ONE;
        assert_eq!(margin(Qty(10), px, one, 5), Money(16_250_000)); // 1625.00
        assert_eq!(margin(Qty(-3), Price(10_001), one, 2), Money(15_002)); // 1.50015 rounds up
        // BTCUSDFUT: 10 contracts of 0.001 BTC at 90,000.00, leverage 10: 90.00.
        let btc = ContractValue::parse("0.001").unwrap();
        assert_eq!(margin(Qty(10), Price(900_000_000), btc, 10), Money(900_000));
        // One rounding of the whole product: 3 x 0.0001 x 0.5 = 0.00015 rounds to 0.0002,
        // and 3 x 1.0001 x 0.5 / 2 = 0.750075 rounds to 0.7501.
        assert_eq!(margin(Qty(3), Price(1), ContractValue::parse("0.5").unwrap(), 1), Money(2));
        assert_eq!(
            margin(Qty(3), Price(10_001), ContractValue::parse("0.5").unwrap(), 2),
            Money(7_501)
        );
        let f = Funds::new(Money(1_000 * Money::SCALE));
        let e = f.check(Money(1_500 * Money::SCALE)).unwrap_err();
        assert_eq!(
            e.as_str(),
            "Insufficient funds. Required: ₹1500.00, Available: ₹1000.00, Shortage: ₹500.00"
        );
        assert!(f.check(Money(1_000 * Money::SCALE)).is_ok());
    }

    #[test]
    fn block_and_release_conserve() {
        let cap = Money(1_000 * Money::SCALE);
        let mut f = Funds::new(cap);
        f.block(Money(300));
        f.release(Money(100), Money(-50));
        assert_eq!(f.available.plus(f.used_margin), cap.plus(f.realized));
        assert_eq!(f.used_margin, Money(200));
    }
}
