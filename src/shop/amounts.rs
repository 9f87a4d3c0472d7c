//! What each order line was really paid. The storefront gives line prices and line
//! discounts, and the order's `realMoney`; an order-level discount (a coupon, a
//! full-order reduction: `realMoney` below goods + freight) belongs to no line, but
//! partners want paid amounts per line that add up to what the buyer paid. It is
//! spread over the lines in proportion to their amounts, to the fen.

use super::orders::{OrderLineRecord, OrderRecord};

/// The paid amounts of an order's lines, in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidAmounts {
    /// Each line's amount after its own discount and its share of the order's, in the
    /// order of `OrderRecord::lines`; they add up to `paid - freight`.
    pub lines: Vec<i64>,
    /// The order-level discount that was spread.
    pub order_discount: i64,
}

/// Fen as yuan text with two decimals (`-` for negatives), for messages.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

/// A line's amount after its own discount, before the order's.
fn own_amount(line: &OrderLineRecord) -> i64 {
    line.fields.price * line.fields.goods_count - line.fields.discount_money
}

/// Each line's amount after its own discount only, at least zero.
pub fn own_amounts(order: &OrderRecord) -> Vec<i64> {
    order
        .lines
        .iter()
        .map(|line| own_amount(line).max(0))
        .collect()
}

/// Spreads the order's discount (goods + freight − `realMoney`) over its lines by the
/// largest remainder: every line gets its proportional share rounded down, and the fen
/// left over go one each to the lines with the largest remainders (first lines first on
/// ties), so no line goes below zero and the total is exact. An order whose figures
/// cannot be reconciled — a line discounted below zero, paid less than the freight or
/// more than goods + freight — is answered with the numbers that disagree.
pub fn paid_amounts(order: &OrderRecord) -> Result<PaidAmounts, String> {
    let mut lines = Vec::with_capacity(order.lines.len());
    for line in &order.lines {
        let fields = &line.fields;
        let amount = own_amount(line);
        if amount < 0 {
            return Err(format!(
                "line `{}`: discount {} exceeds price {} × {}",
                fields.sub_order_no,
                yuan(fields.discount_money),
                yuan(fields.price),
                fields.goods_count
            ));
        }
        lines.push(amount);
    }
    let goods: i64 = lines.iter().sum();
    let freight = order.header.post_fee;
    let paid = order.header.real_money;
    let goods_paid = paid - freight;
    if goods_paid < 0 {
        return Err(format!(
            "paid {} (realMoney) is less than the freight {}: the goods would be negative",
            yuan(paid),
            yuan(freight)
        ));
    }
    if goods_paid > goods {
        return Err(format!(
            "paid {} (realMoney) is more than goods {} + freight {}",
            yuan(paid),
            yuan(goods),
            yuan(freight)
        ));
    }
    let discount = goods - goods_paid;
    if discount > 0 {
        spread(&mut lines, discount);
    }
    Ok(PaidAmounts {
        lines,
        order_discount: discount,
    })
}

/// Takes `discount` (at most the sum of `amounts`) off `amounts` by largest remainder.
fn spread(amounts: &mut [i64], discount: i64) {
    let total: i64 = amounts.iter().sum();
    if total <= 0 {
        return;
    }
    let (total, discount_wide) = (i128::from(total), i128::from(discount));
    let mut shares: Vec<(usize, i64, i128)> = amounts
        .iter()
        .enumerate()
        .map(|(index, &amount)| {
            let exact = discount_wide * i128::from(amount);
            let share = i64::try_from(exact / total).unwrap_or(0);
            (index, share, exact % total)
        })
        .collect();
    let mut left = discount - shares.iter().map(|(_, share, _)| share).sum::<i64>();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by(|&a, &b| shares[b].2.cmp(&shares[a].2).then(a.cmp(&b)));
    for index in by_remainder {
        if left == 0 {
            break;
        }
        if shares[index].1 < amounts[shares[index].0] {
            shares[index].1 += 1;
            left -= 1;
        }
    }
    for (index, share, _) in shares {
        amounts[index] -= share;
    }
}

#[cfg(test)]
mod tests {
    use super::spread;

    fn spread_of(amounts: &[i64], discount: i64) -> Vec<i64> {
        let mut amounts = amounts.to_vec();
        spread(&mut amounts, discount);
        amounts
    }

    #[test]
    fn shares_follow_the_amounts_to_the_fen() {
        assert_eq!(spread_of(&[6_000, 4_000], 1_000), vec![5_400, 3_600]);
        assert_eq!(spread_of(&[100, 100, 100], 10), vec![96, 97, 97]);
        assert_eq!(spread_of(&[10_000, 500], 2_000), vec![8_095, 405]);
        assert_eq!(spread_of(&[0, 1_000], 999), vec![0, 1]);
        assert_eq!(spread_of(&[1, 1, 1], 3), vec![0, 0, 0]);
    }

    #[test]
    fn the_total_is_exact_and_no_line_goes_negative() {
        for amounts in [vec![1, 2, 3, 5, 7], vec![999_999, 1, 0, 33], vec![5]] {
            let total: i64 = amounts.iter().sum();
            for discount in [0, 1, total / 3, total - 1, total] {
                let after = spread_of(&amounts, discount);
                assert_eq!(after.iter().sum::<i64>(), total - discount);
                assert!(after.iter().zip(&amounts).all(|(a, b)| *a >= 0 && a <= b));
            }
        }
    }
}
