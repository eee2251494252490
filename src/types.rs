//! Newtypes that carry the protocol: a price can never be passed as a quantity.
//!
//! Prices and money are fixed-point integers with [`Price::SCALE`] units per rupee, so every
//! comparison and every accounting step is exact. Floats exist only at the JSON edge
//! ([`Price::from_f64`], [`Price::to_f64`]).

#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};
use std::fmt;

/// A dense symbol id handed out by the interner ([`crate::intern::SymbolTable`]).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct SymbolId(pub u32);

impl SymbolId {
    /// The id as an index into per-symbol tables.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The position of an input event in the total order of the system (the journal's key).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Seq(pub u64);

/// An order id: `YYMMDD` (IST, from the event time) followed by an 8-digit order ordinal.
///
/// The ordinal counts orders in the order their events were sequenced, so replaying the
/// journal reproduces every id (OpenAlgo uses random digits here).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct OrderId(pub u64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:014}", self.0)
    }
}

impl OrderId {
    /// Builds an id from an IST calendar day (`YYMMDD` as a number) and an ordinal.
    pub fn new(yymmdd: u32, ordinal: u64) -> Self {
        OrderId(u64::from(yymmdd) * 100_000_000 + ordinal % 100_000_000)
    }

    /// Parses the 14-digit wire form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() || s.len() > 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().map(OrderId)
    }
}

/// A quantity in units (shares or contracts), signed where a position needs a sign.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Qty(pub i64);

impl Qty {
    /// Zero units.
    pub const ZERO: Qty = Qty(0);

    /// Absolute value.
    #[inline]
    pub fn abs(self) -> Qty {
        Qty(self.0.abs())
    }
}

/// A fixed-point per-unit price: [`Price::SCALE`] units per rupee.
///
/// Four decimals cover every Indian tick size (currency futures tick at 0.0025).
/// Amounts (P&L, margin, cash) are [`Money`], a distinct type on the same scale, so
/// `price x qty x contract value` is exact in `i128` and the compiler keeps a per-unit
/// price from being added to an amount.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Price(pub i64);

/// A fixed-point amount of money (cash, margin, P&L, notional, charges): [`Money::SCALE`]
/// units per rupee, the price scale. Distinct from [`Price`] (per unit) so the two cannot
/// be mixed by accident; an amount comes from a price only through an explicit conversion,
/// [`Price::times`] or [`ContractValue::value`] (price x qty x contract value).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Money(pub i64);

impl Price {
    /// Units per rupee.
    pub const SCALE: i64 = 10_000;
    /// Zero.
    pub const ZERO: Price = Price(0);
    /// The largest price accepted from any input: 1e11 rupees, far above any instrument,
    /// small enough that `price * qty * contract value` never overflows `i128`.
    pub const MAX_INPUT: Price = Price(100_000_000_000 * Price::SCALE);

    /// Converts a JSON number, rounding to the nearest unit; `None` for NaN, infinities,
    /// negatives and values beyond [`Price::MAX_INPUT`].
    pub fn from_f64(v: f64) -> Option<Price> {
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        let scaled = (v * Price::SCALE as f64).round();
        if scaled > Price::MAX_INPUT.0 as f64 {
            return None;
        }
        Some(Price(scaled as i64))
    }

    /// Parses a decimal string exactly (no float on the way); same limits as [`Price::from_f64`].
    pub fn parse(s: &str) -> Option<Price> {
        let s = s.trim();
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if int.len() > 12 {
            return None;
        }
        let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut units: i64 = 0;
        let mut scale = Price::SCALE / 10;
        let mut round_up = false;
        for (i, b) in frac.bytes().enumerate() {
            let d = i64::from(b - b'0');
            if scale > 0 {
                units += d * scale;
                scale /= 10;
            } else if i == 4 {
                round_up = d >= 5;
            }
        }
        let v = whole.checked_mul(Price::SCALE)?.checked_add(units + i64::from(round_up))?;
        (v <= Price::MAX_INPUT.0).then_some(Price(v))
    }

    /// The value as a float, for JSON output only.
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / Price::SCALE as f64
    }

    /// True for a strictly positive price.
    #[inline]
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `self * qty * multiplier`, exact, saturating at the `i64` range.
    #[inline]
    pub fn times(self, qty: Qty, multiplier: i64) -> Money {
        let v = i128::from(self.0) * i128::from(qty.0) * i128::from(multiplier);
        Money(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    /// Saturating addition.
    #[inline]
    pub fn plus(self, other: Price) -> Price {
        Price(self.0.saturating_add(other.0))
    }

    /// Saturating subtraction.
    #[inline]
    pub fn minus(self, other: Price) -> Price {
        Price(self.0.saturating_sub(other.0))
    }
}

/// A contract value: how many units of the underlying one contract is (Delta Exchange's
/// BTCUSDFUT is 0.001 BTC; an NSE lot multiplier is 1), exact fixed point with
/// [`ContractValue::SCALE`] units per whole, so `price x qty x contract value` is exact in
/// `i128` and money never passes through a float. Quantities stay whole contracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContractValue(pub i64);

impl Default for ContractValue {
    fn default() -> ContractValue {
        ContractValue::ONE
    }
}

impl ContractValue {
    /// Units per whole (eight decimals: the smallest crypto contract values are 0.0001).
    pub const SCALE: i64 = 100_000_000;
    /// One underlying unit per contract (every Indian contract).
    pub const ONE: ContractValue = ContractValue(ContractValue::SCALE);
    /// The largest contract value accepted (keeps `price x qty x value` inside `i128`).
    pub const MAX: ContractValue = ContractValue(1_000_000 * ContractValue::SCALE);

    /// A whole-number contract value.
    pub fn whole(n: i64) -> Option<ContractValue> {
        let v = ContractValue(n.checked_mul(ContractValue::SCALE)?);
        (n >= 1 && v <= ContractValue::MAX).then_some(v)
    }

    /// Parses a decimal string exactly: strictly positive, at most eight decimals, at most
    /// [`ContractValue::MAX`]; `None` otherwise (the caller names the field).
    pub fn parse(s: &str) -> Option<ContractValue> {
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if (int.is_empty() && frac.is_empty()) || int.len() > 7 || frac.len() > 8 {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut units = 0i64;
        let mut scale = ContractValue::SCALE / 10;
        for b in frac.bytes() {
            units += i64::from(b - b'0') * scale;
            scale /= 10;
        }
        let v = ContractValue(whole * ContractValue::SCALE + units);
        (v.0 > 0 && v <= ContractValue::MAX).then_some(v)
    }

    /// Converts a JSON number exactly when it has at most eight decimals (0.001 is read as
    /// the decimal it prints as, not as its binary neighbour); `None` otherwise.
    pub fn from_f64(v: f64) -> Option<ContractValue> {
        if !v.is_finite() || v <= 0.0 {
            return None;
        }
        // Rust prints the shortest decimal that round-trips, so 0.001 reads back as "0.001".
        ContractValue::parse(&format!("{v}"))
    }

    /// True when the value is a whole number of underlying units.
    pub fn is_whole(self) -> bool {
        self.0 % ContractValue::SCALE == 0
    }

    /// The value as a float, for JSON output only.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / ContractValue::SCALE as f64
    }

    /// `price x qty x self` in exact sub-units: [`ContractValue::SCALE`] per money unit.
    /// Saturates at the `i128` range (unreachable within the input limits).
    #[inline]
    pub fn exact(self, price: Price, qty: Qty) -> i128 {
        (i128::from(price.0) * i128::from(qty.0)).saturating_mul(i128::from(self.0))
    }

    /// `price x qty x self` as money, rounded half away from zero to the money unit.
    /// Use for one-off valuations (margin, notional, unrealized P&L); running sums use
    /// [`ContractValue::exact`] and carry the remainder, so many fills never drift.
    #[inline]
    pub fn value(self, price: Price, qty: Qty) -> Money {
        let v = div_round(self.exact(price, qty), i128::from(ContractValue::SCALE));
        Money(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

impl Money {
    /// Units per rupee (the price scale, so `price x qty` needs no rescaling).
    pub const SCALE: i64 = Price::SCALE;
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// Converts a JSON number, rounding to the nearest unit; `None` for NaN, infinities,
    /// negatives and values beyond [`Price::MAX_INPUT`] (the input limit amounts share).
    pub fn from_f64(v: f64) -> Option<Money> {
        Price::from_f64(v).map(|p| Money(p.0))
    }

    /// Parses a decimal string exactly; same limits as [`Money::from_f64`].
    pub fn parse(s: &str) -> Option<Money> {
        Price::parse(s).map(|p| Money(p.0))
    }

    /// The value as a float, for JSON output only.
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / Money::SCALE as f64
    }

    /// True for a strictly positive amount.
    #[inline]
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Saturating addition.
    #[inline]
    pub fn plus(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// Saturating subtraction.
    #[inline]
    pub fn minus(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Price(self.0), f)
    }
}

impl fmt::Display for ContractValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / ContractValue::SCALE;
        let frac = self.0 % ContractValue::SCALE;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:08}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let scale = Price::SCALE as u64;
        write!(f, "{sign}{}.{:02}", a / scale, (a % scale) / 100)
    }
}

/// Divides `num` by `den` rounding half away from zero; `den` must be non-zero.
#[inline]
pub fn div_round(num: i128, den: i128) -> i128 {
    debug_assert!(den != 0);
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den.abs() { q + num.signum() * den.signum() } else { q }
}

/// BUY or SELL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    /// The wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
    /// +1 for BUY, -1 for SELL.
    #[inline]
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
    /// Parses BUY/SELL, any case.
    pub fn parse(s: &str) -> Option<Side> {
        if s.eq_ignore_ascii_case("BUY") {
            Some(Side::Buy)
        } else if s.eq_ignore_ascii_case("SELL") {
            Some(Side::Sell)
        } else {
            None
        }
    }
}

/// MARKET, LIMIT, SL or SL-M.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PriceType {
    /// Fill at the market.
    Market,
    /// Fill at the limit or better.
    Limit,
    /// Stop-loss limit: triggers at `trigger_price`, then behaves as a limit.
    StopLimit,
    /// Stop-loss market: triggers at `trigger_price`, then fills at the market.
    StopMarket,
}

impl PriceType {
    /// The wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceType::Market => "MARKET",
            PriceType::Limit => "LIMIT",
            PriceType::StopLimit => "SL",
            PriceType::StopMarket => "SL-M",
        }
    }
    /// Parses the wire label, any case.
    pub fn parse(s: &str) -> Option<PriceType> {
        match s.to_ascii_uppercase().as_str() {
            "MARKET" => Some(PriceType::Market),
            "LIMIT" => Some(PriceType::Limit),
            "SL" => Some(PriceType::StopLimit),
            "SL-M" => Some(PriceType::StopMarket),
            _ => None,
        }
    }
}

/// MIS (intraday), CNC (delivery) or NRML (carry-forward derivatives).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Product {
    /// Intraday, squared off automatically.
    Mis,
    /// Cash and carry (equity delivery).
    Cnc,
    /// Normal (derivatives carried forward).
    Nrml,
}

impl Product {
    /// The wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Mis => "MIS",
            Product::Cnc => "CNC",
            Product::Nrml => "NRML",
        }
    }
    /// Parses the wire label, any case.
    pub fn parse(s: &str) -> Option<Product> {
        match s.to_ascii_uppercase().as_str() {
            "MIS" => Some(Product::Mis),
            "CNC" => Some(Product::Cnc),
            "NRML" => Some(Product::Nrml),
            _ => None,
        }
    }
}

/// The exchanges OpenAlgo names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Exchange {
    /// NSE cash.
    Nse,
    /// BSE cash.
    Bse,
    /// NSE derivatives.
    Nfo,
    /// BSE derivatives.
    Bfo,
    /// NSE currency.
    Cds,
    /// BSE currency.
    Bcd,
    /// MCX commodities.
    Mcx,
    /// NCDEX commodities.
    Ncdex,
    /// NSE indices (quote only).
    NseIndex,
    /// BSE indices (quote only).
    BseIndex,
    /// NSE commodity derivatives.
    Nco,
    /// Crypto derivatives (trades every day, all day).
    Crypto,
    /// MCX indices (quote only).
    McxIndex,
    /// Global indices (quote only).
    GlobalIndex,
}

impl Exchange {
    /// Every exchange, in a fixed order (used for per-exchange tables).
    pub const ALL: [Exchange; Exchange::COUNT] = [
        Exchange::Nse,
        Exchange::Bse,
        Exchange::Nfo,
        Exchange::Bfo,
        Exchange::Cds,
        Exchange::Bcd,
        Exchange::Mcx,
        Exchange::Ncdex,
        Exchange::NseIndex,
        Exchange::BseIndex,
        Exchange::Nco,
        Exchange::Crypto,
        Exchange::McxIndex,
        Exchange::GlobalIndex,
    ];

    /// How many exchanges there are (the size of per-exchange tables).
    pub const COUNT: usize = 14;

    /// The wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            Exchange::Nse => "NSE",
            Exchange::Bse => "BSE",
            Exchange::Nfo => "NFO",
            Exchange::Bfo => "BFO",
            Exchange::Cds => "CDS",
            Exchange::Bcd => "BCD",
            Exchange::Mcx => "MCX",
            Exchange::Ncdex => "NCDEX",
            Exchange::NseIndex => "NSE_INDEX",
            Exchange::BseIndex => "BSE_INDEX",
            Exchange::Nco => "NCO",
            Exchange::Crypto => "CRYPTO",
            Exchange::McxIndex => "MCX_INDEX",
            Exchange::GlobalIndex => "GLOBAL_INDEX",
        }
    }
    /// Parses the wire label, any case.
    pub fn parse(s: &str) -> Option<Exchange> {
        Exchange::ALL.into_iter().find(|e| e.as_str().eq_ignore_ascii_case(s.trim()))
    }
    /// Position in [`Exchange::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
    /// Derivative exchanges: CNC is refused there, quantities are multiples of the lot.
    pub fn is_derivative(self) -> bool {
        matches!(
            self,
            Exchange::Nfo
                | Exchange::Bfo
                | Exchange::Mcx
                | Exchange::Cds
                | Exchange::Bcd
                | Exchange::Ncdex
                | Exchange::Nco
                | Exchange::Crypto
        )
    }
    /// Cash equity exchanges: NRML is refused there.
    pub fn is_cash_equity(self) -> bool {
        matches!(self, Exchange::Nse | Exchange::Bse)
    }
    /// Index exchanges are quote-only.
    pub fn is_index(self) -> bool {
        matches!(
            self,
            Exchange::NseIndex | Exchange::BseIndex | Exchange::McxIndex | Exchange::GlobalIndex
        )
    }
}

/// Order statuses, with OpenAlgo's exact labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Resting, waiting for the price.
    Open,
    /// A stop order whose trigger has not been reached.
    TriggerPending,
    /// Filled.
    Complete,
    /// Cancelled by the user or by square-off.
    Cancelled,
    /// Refused after being recorded (CNC sell beyond holdings).
    Rejected,
}

impl OrderStatus {
    /// The wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::TriggerPending => "trigger pending",
            OrderStatus::Complete => "complete",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
        }
    }
    /// Open or trigger pending: the order can still fill, be modified or cancelled.
    pub fn is_working(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::TriggerPending)
    }
}

/// A short UTF-8 tag held inline (strategy names), so events never allocate.
/// Serialized as its text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    len: u8,
    bytes: [u8; Tag::CAPACITY],
}

impl Tag {
    /// The longest tag accepted, in bytes.
    pub const CAPACITY: usize = 40;
    /// The empty tag.
    pub const EMPTY: Tag = Tag { len: 0, bytes: [0; Tag::CAPACITY] };

    /// Copies `s`; `None` when longer than [`Tag::CAPACITY`] bytes.
    pub fn new(s: &str) -> Option<Tag> {
        if s.len() > Tag::CAPACITY {
            return None;
        }
        let mut bytes = [0; Tag::CAPACITY];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Tag { len: s.len() as u8, bytes })
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        // Built only from &str in `new` (or checked in `from_bytes`), so always valid UTF-8.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// Rebuilds a tag from raw bytes (journal decoding); `None` if too long or not UTF-8.
    pub fn from_bytes(b: &[u8]) -> Option<Tag> {
        Tag::new(std::str::from_utf8(b).ok()?)
    }
}

impl Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Tag::new(&s).ok_or_else(|| serde::de::Error::custom("tag longer than 40 bytes"))
    }
}

impl Default for Tag {
    fn default() -> Self {
        Tag::EMPTY
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_values_parse_print_and_multiply_exactly() {
        let cv = |s: &str| ContractValue::parse(s);
        assert_eq!(cv("0.001"), Some(ContractValue(100_000)));
        assert_eq!(cv("1"), Some(ContractValue::ONE));
        assert_eq!(cv("1.0"), Some(ContractValue::ONE));
        assert_eq!(cv(".5"), Some(ContractValue(50_000_000)));
        assert_eq!(cv("0.00000001"), Some(ContractValue(1)));
        for bad in ["", ".", "0", "0.0", "-1", "1e-3", "0.000000001", "abc", "10000000"] {
            assert_eq!(cv(bad), None, "{bad:?}");
        }
        // JSON numbers go through their shortest decimal: 0.001 is exactly a thousandth.
        assert_eq!(ContractValue::from_f64(0.001), cv("0.001"));
        assert_eq!(ContractValue::from_f64(0.01), cv("0.01"));
        assert_eq!(ContractValue::from_f64(100.0), ContractValue::whole(100));
        assert_eq!(ContractValue::from_f64(1e-9), None);
        assert_eq!(ContractValue::from_f64(f64::NAN), None);
        for s in ["0.001", "0.01", "1", "100", "12.5", "0.00000001"] {
            assert_eq!(cv(s).unwrap().to_string(), s);
        }
        // 10 contracts x 0.001 BTC x 95,100.00 = 951.00; one price unit x 1 x 0.001 is
        // 0.1 of a money unit (rounds to 0 alone; the exact form keeps it).
        let btc = cv("0.001").unwrap();
        assert_eq!(btc.value(Price(951_000_000), Qty(10)), Money(9_510_000));
        assert_eq!(btc.value(Price(1), Qty(1)), Money(0));
        assert_eq!(btc.exact(Price(1), Qty(1)), 100_000);
        assert_eq!(btc.value(Price(-5), Qty(1000)), Money(-5));
    }

    #[test]
    fn price_parse_and_float_agree() {
        for (s, units) in
            [("812.5", 8_125_000), ("0.05", 500), ("1424.50", 14_245_000), ("7", 70_000)]
        {
            assert_eq!(Price::parse(s), Some(Price(units)), "{s}");
            assert_eq!(Price::from_f64(s.parse().unwrap()), Some(Price(units)), "{s}");
        }
        assert_eq!(Price::parse("0.00005"), Some(Price(1)));
        assert_eq!(Price::parse("0.00004"), Some(Price(0)));
    }

    #[test]
    fn price_rejects_hostile_values() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 1e300] {
            assert_eq!(Price::from_f64(v), None, "{v}");
        }
        for s in ["", ".", "-1", "1e5", "abc", "1.2.3", "99999999999999999999"] {
            assert_eq!(Price::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn order_id_is_fourteen_digits() {
        let id = OrderId::new(261126, 42);
        assert_eq!(id.to_string(), "26112600000042");
        assert_eq!(OrderId::parse("26112600000042"), Some(id));
        assert_eq!(OrderId::parse("abc"), None);
    }

    #[test]
    fn div_round_is_half_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(-4, 3), -1);
    }

    #[test]
    fn tag_round_trips_and_caps_length() {
        assert_eq!(Tag::new("python").unwrap().as_str(), "python");
        assert!(Tag::new(&"x".repeat(Tag::CAPACITY + 1)).is_none());
    }
}
