//! Which share of the selected scenarios one CI job runs (`--partition count:K/N` or `hash:K/N`), so a
//! matrix of N jobs splits a corpus between them and `gateproof merge` puts the reports back together.
//!
//! The two kinds mean what they mean in cargo-nextest. `count:K/N` takes every Nth scenario of the
//! selection (after the tag filter), in file order, starting with the Kth: shards are as even as can
//! be, but adding one scenario moves every later one to another shard. `hash:K/N` takes the scenarios
//! whose id hashes to bucket K: a scenario stays in its shard whatever else is added, at the price of
//! uneven shards. K counts from 1.
//!
//! The hash is 64-bit FNV-1a of the id's UTF-8 bytes, modulo N. It is written out here rather than
//! taken from `std` (whose `DefaultHasher` may change between Rust releases) so every machine, build
//! and version of gateproof puts a scenario in the same shard.

use std::fmt;
use std::str::FromStr;

/// How the selection is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKind {
    /// Every Nth scenario in file order.
    Count,
    /// By the hash of the scenario id.
    Hash,
}

impl PartitionKind {
    pub fn name(self) -> &'static str {
        match self {
            PartitionKind::Count => "count",
            PartitionKind::Hash => "hash",
        }
    }
}

/// Shard `shard` of `total` (1 ≤ shard ≤ total).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub kind: PartitionKind,
    shard: u64,
    total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    #[error("expected `count:K/N` or `hash:K/N` (shard K of N, counting from 1), got `{0}`")]
    Shape(String),
    #[error("the number of shards N in `{0}` must be a whole number above 0")]
    Total(String),
    #[error("the shard K in `{0}` must be a whole number from 1 to N (shards count from 1)")]
    Shard(String),
}

impl Partition {
    pub fn new(kind: PartitionKind, shard: u64, total: u64) -> Option<Partition> {
        (total > 0 && (1..=total).contains(&shard)).then_some(Partition { kind, shard, total })
    }

    /// K, counting from 1.
    pub fn shard(self) -> u64 {
        self.shard
    }

    /// N.
    pub fn total(self) -> u64 {
        self.total
    }

    /// The items of this shard, in their order; `id` names an item for `hash:`. `items` must be the
    /// whole selection in file order, the same in every shard, for `count:` to split it.
    pub fn select<T>(self, items: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter(|(index, item)| self.bucket(*index, id(item)) == self.shard - 1)
            .map(|(_, item)| item)
            .collect()
    }

    /// The 0-based shard of the item at `index` (in the selection) with this id.
    fn bucket(self, index: usize, id: &str) -> u64 {
        match self.kind {
            PartitionKind::Count => (index as u64) % self.total,
            PartitionKind::Hash => fnv1a_64(id.as_bytes()) % self.total,
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind.name(), self.shard, self.total)
    }
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(text: &str) -> Result<Partition, PartitionError> {
        let shape = || PartitionError::Shape(text.to_string());
        let (kind, rest) = text.split_once(':').ok_or_else(shape)?;
        let kind = match kind {
            "count" => PartitionKind::Count,
            "hash" => PartitionKind::Hash,
            _ => return Err(shape()),
        };
        let (shard, total) = rest.split_once('/').ok_or_else(shape)?;
        let number =
            |digits: &str| digits.bytes().all(|b| b.is_ascii_digit()).then(|| digits.parse::<u64>().ok()).flatten();
        let total = number(total).filter(|n| *n > 0).ok_or_else(|| PartitionError::Total(text.to_string()))?;
        let shard = number(shard).ok_or_else(shape)?;
        Partition::new(kind, shard, total).ok_or_else(|| PartitionError::Shard(text.to_string()))
    }
}

/// 64-bit FNV-1a: offset basis 0xcbf29ce484222325, prime 0x100000001b3.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::count("count:1/3", PartitionKind::Count, 1, 3)]
    #[case::hash_last_shard("hash:4/4", PartitionKind::Hash, 4, 4)]
    #[case::one_shard("count:1/1", PartitionKind::Count, 1, 1)]
    #[case::leading_zero("hash:02/10", PartitionKind::Hash, 2, 10)]
    fn good_partitions_parse(#[case] text: &str, #[case] kind: PartitionKind, #[case] shard: u64, #[case] total: u64) {
        let partition: Partition = text.parse().expect("valid");
        assert_eq!((partition.kind, partition.shard(), partition.total()), (kind, shard, total));
    }

    #[rstest]
    #[case::shard_zero("count:0/3", PartitionError::Shard("count:0/3".into()))]
    #[case::shard_above_total("count:4/3", PartitionError::Shard("count:4/3".into()))]
    #[case::unknown_kind("foo:1/2", PartitionError::Shape("foo:1/2".into()))]
    #[case::no_shards("hash:1/0", PartitionError::Total("hash:1/0".into()))]
    #[case::no_kind("1/2", PartitionError::Shape("1/2".into()))]
    #[case::no_slash("hash:1", PartitionError::Shape("hash:1".into()))]
    #[case::negative("hash:-1/2", PartitionError::Shape("hash:-1/2".into()))]
    #[case::plus_sign("hash:+1/2", PartitionError::Shape("hash:+1/2".into()))]
    #[case::words("count:one/two", PartitionError::Total("count:one/two".into()))]
    #[case::spaces("count: 1/2", PartitionError::Shape("count: 1/2".into()))]
    #[case::upper_case("COUNT:1/2", PartitionError::Shape("COUNT:1/2".into()))]
    #[case::empty("", PartitionError::Shape(String::new()))]
    fn bad_partitions_are_refused(#[case] text: &str, #[case] error: PartitionError) {
        assert_eq!(text.parse::<Partition>(), Err(error));
    }

    #[test]
    fn a_partition_prints_as_it_parses() {
        for text in ["count:1/3", "hash:4/4"] {
            assert_eq!(text.parse::<Partition>().expect("valid").to_string(), text);
        }
    }

    /// The published FNV-1a test vectors: the hash, and so every shard, is fixed.
    #[rstest]
    #[case::empty("", 0xcbf2_9ce4_8422_2325)]
    #[case::a("a", 0xaf63_dc4c_8601_ec8c)]
    #[case::foobar("foobar", 0x8594_4171_f739_67e8)]
    fn fnv1a_matches_its_test_vectors(#[case] text: &str, #[case] hash: u64) {
        assert_eq!(fnv1a_64(text.as_bytes()), hash);
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("scenario-{i}")).collect()
    }

    fn shards(kind: PartitionKind, total: u64, items: &[String]) -> Vec<Vec<String>> {
        (1..=total)
            .map(|shard| Partition::new(kind, shard, total).expect("valid").select(items.to_vec(), |s| s.as_str()))
            .collect()
    }

    #[rstest]
    #[case::count_even(PartitionKind::Count, 3, 9)]
    #[case::count_uneven(PartitionKind::Count, 3, 10)]
    #[case::count_more_shards_than_items(PartitionKind::Count, 4, 2)]
    #[case::hash(PartitionKind::Hash, 3, 40)]
    #[case::hash_one_shard(PartitionKind::Hash, 1, 5)]
    #[case::nothing(PartitionKind::Hash, 3, 0)]
    fn every_item_lands_in_exactly_one_shard(#[case] kind: PartitionKind, #[case] total: u64, #[case] n: usize) {
        let items = ids(n);
        let shards = shards(kind, total, &items);
        let mut all: Vec<String> = shards.concat();
        assert_eq!(all.len(), n, "{shards:?}");
        all.sort();
        let mut expected = items.clone();
        expected.sort();
        assert_eq!(all, expected);
        // Each shard keeps the selection's order.
        for shard in &shards {
            let positions: Vec<usize> =
                shard.iter().map(|id| items.iter().position(|i| i == id).expect("from the items")).collect();
            assert!(positions.is_sorted(), "{shard:?}");
        }
    }

    #[test]
    fn count_takes_every_nth_starting_with_the_kth() {
        let items = ids(7);
        let shards = shards(PartitionKind::Count, 3, &items);
        let indices = |shard: &Vec<String>| {
            shard.iter().map(|id| items.iter().position(|i| i == id).expect("from the items")).collect::<Vec<_>>()
        };
        assert_eq!(shards.iter().map(indices).collect::<Vec<_>>(), [vec![0, 3, 6], vec![1, 4], vec![2, 5]]);
    }

    /// Pinned: a change of hash would move scenarios between the shards of every user's matrix.
    #[test]
    fn hash_shards_of_known_ids_are_fixed() {
        let bucket = |id: &str| fnv1a_64(id.as_bytes()) % 4;
        let ids = ["team-key-limits", "org-admin-gate", "mcp-access", "budget-reset"];
        assert_eq!(ids.map(bucket), [1, 1, 0, 2]);
    }

    /// A scenario's hash shard depends on its id alone: adding others, or reordering, does not move it.
    #[test]
    fn a_hash_shard_depends_on_the_id_alone() {
        let partition = Partition::new(PartitionKind::Hash, 2, 3).expect("valid");
        let few = partition.select(ids(10), |s| s.as_str());
        let mut many = ids(30);
        many.reverse();
        let kept: Vec<String> =
            partition.select(many, |s| s.as_str()).into_iter().filter(|id| ids(10).contains(id)).rev().collect();
        assert_eq!(few, kept);
    }
}
