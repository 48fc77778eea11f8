//! Who receives what in a step: partners, their endpoints and how each
//! answers, and registering them in the store in bulk.

use super::sinks::SinkMode;
use super::{BenchError, StepEnv};
use crate::schema::EventType;
use crate::webhook::SigningSecret;

/// Endpoints per partner allowed by the store.
const PER_PARTNER: usize = crate::store::endpoints::MAX_PER_PARTNER;

/// Who receives what: per partner, how each of its endpoints answers.
#[derive(Debug, Clone)]
pub struct Layout(Vec<Vec<SinkMode>>);

impl Layout {
    /// `endpoints` healthy endpoints over `partners` partners, as evenly as
    /// the per-partner limit allows.
    pub(super) fn even(partners: usize, endpoints: usize) -> Result<Self, BenchError> {
        let partners = partners.max(1);
        if endpoints < partners || endpoints > partners * PER_PARTNER {
            return Err(BenchError::new(format!(
                "{endpoints} endpoints over {partners} partners: each partner needs 1 to {PER_PARTNER}"
            )));
        }
        Ok(Layout(
            (0..partners)
                .map(|p| {
                    vec![SinkMode::Ok; endpoints / partners + usize::from(p < endpoints % partners)]
                })
                .collect(),
        ))
    }

    /// The layout `--partners` and `--endpoints` ask for, else `partners`
    /// and `endpoints`.
    pub(super) fn asked(
        args: &super::BenchArgs,
        partners: usize,
        endpoints: usize,
    ) -> Result<Self, BenchError> {
        Layout::even(
            args.partners.unwrap_or(partners),
            args.endpoints.unwrap_or(endpoints),
        )
    }

    /// `endpoints` endpoints, 5 per partner (the last one may have fewer).
    pub(super) fn packed(endpoints: usize) -> Self {
        let partners = endpoints.div_ceil(PER_PARTNER).max(1);
        Layout::even(partners, endpoints.max(1)).expect("packed layouts fit")
    }

    /// Makes 10% of the endpoints black holes and 10% failing, spread over
    /// the partners.
    pub(super) fn with_sick(mut self) -> Self {
        let mut n = 0;
        for modes in &mut self.0 {
            for mode in modes {
                *mode = match n % 10 {
                    3 => SinkMode::BlackHole,
                    7 => SinkMode::Fail,
                    _ => SinkMode::Ok,
                };
                n += 1;
            }
        }
        self
    }

    pub(super) fn partners(&self) -> usize {
        self.0.len()
    }

    pub(super) fn modes(&self) -> impl Iterator<Item = SinkMode> + '_ {
        self.0.iter().flatten().copied()
    }

    pub(super) fn endpoints(&self) -> usize {
        self.modes().count()
    }

    pub(super) fn healthy(&self) -> usize {
        self.modes().filter(|m| *m == SinkMode::Ok).count()
    }

    /// Healthy deliveries made by `events` events, event `i` going to
    /// partner `i % partners`.
    pub(super) fn healthy_deliveries(&self, events: usize) -> usize {
        let p = self.partners();
        self.0
            .iter()
            .enumerate()
            .map(|(i, modes)| {
                let events_here = events / p + usize::from(i < events % p);
                events_here * modes.iter().filter(|m| **m == SinkMode::Ok).count()
            })
            .sum()
    }

    fn partner_id(p: usize) -> String {
        format!("bench-p{p}")
    }

    pub(super) fn partner_ids(&self) -> Vec<String> {
        (0..self.partners()).map(Layout::partner_id).collect()
    }
}

/// Registers the layout's partners and endpoints (pinned to v1, every event
/// type) in a few bulk statements; returns the time it took.
pub(super) async fn register(
    env: &StepEnv,
    layout: &Layout,
    urls: &[String],
) -> Result<f64, BenchError> {
    let start = std::time::Instant::now();
    let db = &env.db;
    let partners = layout.partner_ids();
    let mut ids = Vec::with_capacity(urls.len());
    let mut owners = Vec::with_capacity(urls.len());
    for (p, modes) in layout.0.iter().enumerate() {
        for _ in modes {
            ids.push(format!("ep_{:016x}", ids.len()));
            owners.push(Layout::partner_id(p));
        }
    }
    let secrets: Vec<String> = ids
        .iter()
        .map(|_| SigningSecret::generate().as_str().to_owned())
        .collect();
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    // Per-row triggers (the 5-per-partner check, which the layout respects,
    // and one change notification per row) are skipped for the bulk insert
    // where the role may (a superuser); trackwire is not running yet and
    // loads everything when it starts.
    let bypass = db
        .batch_execute("SET session_replication_role = replica")
        .await
        .is_ok();
    let run = async {
        db.execute(
            "INSERT INTO partners (id, name) SELECT p, p FROM unnest($1::text[]) AS p",
            &[&partners],
        )
        .await?;
        db.execute(
            "INSERT INTO endpoints (id, partner_id, url, schema_version)
             SELECT id, p, url, 'v1' FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, p, url)",
            &[&ids, &owners, &urls],
        )
        .await?;
        db.execute(
            "INSERT INTO endpoint_event_types (endpoint_id, event_type)
             SELECT e, t FROM unnest($1::text[]) AS e CROSS JOIN unnest($2::text[]) AS t",
            &[&ids, &types],
        )
        .await?;
        db.execute(
            "INSERT INTO endpoint_secrets (endpoint_id, secret)
             SELECT e, s FROM unnest($1::text[], $2::text[]) AS x(e, s)",
            &[&ids, &secrets],
        )
        .await?;
        if bypass {
            db.batch_execute("RESET session_replication_role").await?;
        }
        db.batch_execute("ANALYZE").await
    };
    run.await.map_err(BenchError::db)?;
    Ok(start.elapsed().as_secs_f64())
}
