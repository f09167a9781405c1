//! One invocation's metrics, recorded and written as EMF to a sink: ours (`webhook_core::metrics`,
//! what the functions run) against the `metrics` facade with `metrics_cloudwatch_embedded` (the
//! crate the issue names; without its `lambda` feature, which would bring `lambda_http`). The
//! same metrics both ways, dimension `provider`: a stored delivery (`Requests`, `Stored`,
//! `StoreLatencyMs`, `BodyBytes`) and a refused one (`Requests`, `Rejected` by `reason`). The
//! README's "Operating it" has the figures and the decision.

use std::hint::black_box;
use std::io::Write as _;

use criterion::{Criterion, criterion_group, criterion_main};
use metrics_cloudwatch_embedded::{Builder, Collector};
use webhook_core::metrics::{self, Emf, Emitter, Metric};

const PROVIDER: &str = "alocity-selfie";

fn ours(runtime: &tokio::runtime::Runtime, emf: &Emf, refused: bool) -> usize {
    runtime.block_on(async {
        let ((), measured) = metrics::measure(async {
            metrics::record(Metric::Requests, 1.0);
            if refused {
                metrics::record_rejection("signature_mismatch");
            } else {
                metrics::record(Metric::BodyBytes, 1024.0);
                metrics::record(Metric::StoreLatencyMs, 3.25);
                metrics::record(Metric::Stored, 1.0);
            }
        })
        .await;
        let documents = emf.documents(
            PROVIDER,
            &measured,
            1_795_511_521_000,
            &[("requestId", "r-1")],
        );
        let mut sink = std::io::sink();
        for document in &documents {
            let _ = writeln!(sink, "{document}");
        }
        black_box(documents).len()
    })
}

/// The crate's documents go to a counting writer: how many lines one invocation makes.
#[derive(Default)]
struct Lines(usize);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.iter().filter(|b| **b == b'\n').count();
        black_box(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn theirs(runtime: &tokio::runtime::Runtime, collector: &Collector, refused: bool) -> usize {
    runtime.block_on(async {
        ::metrics::counter!("Requests").increment(1);
        if refused {
            ::metrics::counter!("Rejected", "reason" => "signature_mismatch").increment(1);
        } else {
            ::metrics::histogram!("BodyBytes").record(1024.0);
            ::metrics::histogram!("StoreLatencyMs").record(3.25);
            ::metrics::counter!("Stored").increment(1);
        }
        let mut lines = Lines::default();
        let _ = collector.set_property("requestId", "r-1").flush(&mut lines);
        lines.0
    })
}

fn emf(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|error| panic!("runtime: {error}"));
    let ours_emf = Emf::new("Webhooks/bench", Emitter::Receiver);
    let collector = Builder::new()
        .cloudwatch_namespace("Webhooks/bench")
        .with_dimension("provider", PROVIDER)
        .init()
        .unwrap_or_else(|error| panic!("metrics_cloudwatch_embedded: {error}"));
    for refused in [false, true] {
        let case = if refused { "refused" } else { "stored" };
        // What one invocation writes, each way (printed for the report).
        let (mine, crate_lines) = (
            ours(&runtime, &ours_emf, refused),
            theirs(&runtime, collector, refused),
        );
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "emf/{case}: documents per invocation: ours {mine}, metrics_cloudwatch_embedded {crate_lines}"
        );
        let mut group = c.benchmark_group(format!("emf/{case}"));
        group.bench_function("ours", |b| b.iter(|| ours(&runtime, &ours_emf, refused)));
        group.bench_function("metrics_cloudwatch_embedded", |b| {
            b.iter(|| theirs(&runtime, collector, refused));
        });
        group.finish();
    }
}

criterion_group!(benches, emf);
criterion_main!(benches);
