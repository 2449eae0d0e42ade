//! Kendall's τ between attention maps and the other methods' maps: whether attention ranks the
//! words as the other methods do (Jain & Wallace 2019).

use super::TokenAttribution;
use crate::explain::schema::Needs;

/// How far one attention map agrees with one other map, as the page's table shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Agreement<K> {
    pub attention: K,
    pub other: K,
    /// Kendall's τ-b ([`agreement`]); `None` where it is undefined.
    pub tau: Option<f64>,
}

/// Kendall's τ between every map from attention and every map that is not, in the order given:
/// whether attention ranks the words as the other methods do (Jain & Wallace 2019).
pub fn agreements<K: Copy>(maps: &[(K, &TokenAttribution)], players: &[usize]) -> Vec<Agreement<K>> {
    let (attention, others): (Vec<_>, Vec<_>) =
        maps.iter().partition(|(_, a)| a.method.needs() == Needs::Attention);
    attention
        .iter()
        .flat_map(|(a, x)| {
            others.iter().map(move |(b, y)| Agreement {
                attention: *a,
                other: *b,
                tau: agreement(x, y, players),
            })
        })
        .collect()
}

/// Kendall's τ-b between two methods' rankings of the players by |score| (how much, whatever
/// the sign: attention has none), as Jain & Wallace (2019) compare attention with gradients.
/// `None` when fewer than two players are scored by both, or one ranking is all ties.
pub fn agreement(a: &TokenAttribution, b: &TokenAttribution, players: &[usize]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = players
        .iter()
        .filter_map(|&p| match (a.scores.get(p)?, b.scores.get(p)?) {
            (Some(u), Some(v)) => Some((f64::from(u.abs()), f64::from(v.abs()))),
            _ => None,
        })
        .unzip();
    kendall_tau(&x, &y)
}

/// Kendall's τ-b (ties corrected, as SciPy's default): `None` for fewer than two pairs or a
/// constant side.
pub fn kendall_tau(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    let (mut concordant, mut discordant, mut tied_x, mut tied_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i] - x[j];
            let dy = y[i] - y[j];
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => tied_x += 1,
                (false, true) => tied_y += 1,
                (false, false) if (dx > 0.0) == (dy > 0.0) => concordant += 1,
                (false, false) => discordant += 1,
            }
        }
    }
    let pairs_x = (concordant + discordant + tied_x) as f64;
    let pairs_y = (concordant + discordant + tied_y) as f64;
    (pairs_x > 0.0 && pairs_y > 0.0).then(|| (concordant - discordant) as f64 / (pairs_x * pairs_y).sqrt())
}
