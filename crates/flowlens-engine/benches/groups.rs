//! Group sets at blacklist scale (phish.js loads ~300,000 CIDRs).
//!
//! - `groups/load-300k`: build a [`GroupSet`] from 300,000 prefixes as text (100,000 labels of
//!   three prefixes each: 85% IPv4 /8../32, 15% IPv6 /16../128, plus the catch-alls
//!   `0.0.0.0/0` and `::/0`), i.e. parsing plus trie inserts.
//! - `groups/lookup-v4`, `groups/lookup-v6`: longest-prefix lookup of pseudo-random addresses
//!   in that set (mostly caught by the catch-all, some by specific prefixes), per lookup.
//! - `filter/dnsqname-16k`: one sample through a `dnsqname="…"` filter of 16,000 names.
//!
//! Prefixes and addresses come from a fixed-seed xorshift generator, so every run sees the
//! same data.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flowlens_engine::expr::Filter;
use flowlens_engine::groups::GroupSet;
use flowlens_engine::{Env, KeyBuf, Schema};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn prefixes(n: usize) -> Vec<String> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| {
            let x = r.next();
            if x % 100 < 85 {
                let len = 8 + (x >> 8) % 25;
                format!("{}/{len}", Ipv4Addr::from((x >> 32) as u32))
            } else {
                let len = 16 + (x >> 8) % 113;
                let a = (u128::from(r.next()) << 64) | u128::from(r.next());
                format!("{}/{len}", Ipv6Addr::from(a))
            }
        })
        .collect()
}

fn build(p: &[String]) -> GroupSet {
    let labels: Vec<String> = (0..p.len() / 3).map(|i| format!("phish.{i}")).collect();
    let mut pairs: Vec<(&str, Vec<&str>)> = labels
        .iter()
        .zip(p.chunks(3))
        .map(|(l, c)| (l.as_str(), c.iter().map(String::as_str).collect()))
        .collect();
    pairs.push(("other", vec!["0.0.0.0/0", "::/0"]));
    GroupSet::from_pairs(pairs).unwrap()
}

fn bench(c: &mut Criterion) {
    let p = prefixes(300_000);
    let mut g = c.benchmark_group("groups");
    g.sample_size(10);
    g.bench_function("load-300k", |b| b.iter(|| black_box(build(black_box(&p)))));
    g.finish();

    let set = build(&p);
    let mut r = Rng(42);
    let v4: Vec<IpAddr> = (0..4096)
        .map(|_| IpAddr::V4(Ipv4Addr::from(r.next() as u32)))
        .collect();
    let v6: Vec<IpAddr> = (0..4096)
        .map(|_| {
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(r.next()) << 64) | u128::from(r.next()),
            ))
        })
        .collect();
    let mut g = c.benchmark_group("groups");
    g.throughput(Throughput::Elements(v4.len() as u64));
    g.bench_function("lookup-v4", |b| {
        b.iter(|| {
            for ip in &v4 {
                black_box(set.lookup(*ip));
            }
        })
    });
    g.bench_function("lookup-v6", |b| {
        b.iter(|| {
            for ip in &v6 {
                black_box(set.lookup(*ip));
            }
        })
    });
    g.finish();

    let names: Vec<String> = (0..16_000)
        .map(|i| format!("host{i}.example{}.com.", i % 97))
        .collect();
    let text = format!("dnsqname=\"{}\"", names.join(","));
    let mut schema = Schema::default();
    let f = Filter::parse(&text, &mut schema).unwrap();
    let slot = schema.intern("dnsqname").unwrap();
    let env = Env::default();
    let mut g = c.benchmark_group("filter");
    g.bench_function("dnsqname-16k-compile", |b| {
        b.iter_batched(
            Schema::default,
            |mut s| Filter::parse(&text, &mut s).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("dnsqname-16k-match", |b| {
        let mut keys = KeyBuf::default();
        keys.reset(&schema);
        keys.set_text(slot, &names[15_999]);
        b.iter(|| black_box(f.matches(black_box(&keys), &env)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
