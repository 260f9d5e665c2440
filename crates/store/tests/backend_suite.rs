//! The store's behaviour, each test written once and run on SQLite (a temporary file) and on
//! PostgreSQL (a fresh database on the real server; see tests/support).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use dronewatch_model::{Lla, TimeNs};
use dronewatch_store::chain::{EventFields, GENESIS_HASH, event_hash};
use dronewatch_store::{
    BBox, Chain, DeviceTokenRecord, EventKind, EventQuery, NewEvent, Retention, Store, StoreError,
    StoredEvent, UserRecord,
};
use support::{TestDb, TestResult, observation, record, track};

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::TestDb::sqlite();
                    if let Err(e) = super::$name(&db).await {
                        panic!("sqlite: {e}");
                    }
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    if let Err(e) = super::$name(&db).await {
                        panic!("postgres: {e}");
                    }
                }
            )*
        }
    };
}

suite!(
    appends_round_trip_every_field_and_hash,
    idempotency_keys_store_once,
    a_failing_batch_stores_nothing_and_others_go_on,
    invalid_events_are_refused_whole,
    concurrent_appends_keep_every_chain_dense,
    queries_agree_with_a_filter_over_what_was_appended,
    read_after_pages_through_a_chain,
    verify_detects_each_edited_column,
    verify_detects_deleted_and_swapped_rows,
    verify_detects_an_altered_or_missing_anchor,
    a_clean_log_verifies_after_appends_pruning_and_reopening,
    prune_deletes_only_the_old_prefix,
    prune_works_in_steps_over_a_long_prefix,
    prune_refuses_a_tampered_prefix,
    retention_prunes_each_chain_to_its_age,
    migrations_upgrade_an_old_database,
    a_newer_schema_is_refused,
    users_tokens_cursors_and_documents,
);

fn all(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

async fn whole_chain(store: &Store, chain: Chain) -> Vec<StoredEvent> {
    store.read_after(chain, 0, usize::MAX).await.unwrap()
}

/// Recomputes a chain's hashes with the published definition, from `prev`.
fn rehash(chain: Chain, events: &[StoredEvent], mut prev: [u8; 32]) -> Vec<[u8; 32]> {
    events
        .iter()
        .map(|e| {
            prev = event_hash(
                &prev,
                &EventFields {
                    chain: chain.as_str().as_bytes(),
                    seq: e.seq,
                    kind: e.kind.as_str().as_bytes(),
                    t_ns: e.t.0,
                    stored_at_ns: e.stored_at.0,
                    source: e.source.as_deref().map(str::as_bytes),
                    serial: e.serial.as_deref().map(str::as_bytes),
                    track_id: e.track_id,
                    position: e.position.map(|p| [p.lat_deg, p.lon_deg, p.h_m]),
                    idempotency_key: e.idempotency_key.as_deref().map(str::as_bytes),
                    body: e.body.as_bytes(),
                },
            );
            prev
        })
        .collect()
}

fn now() -> TimeNs {
    TimeNs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64,
    )
}

/// 10 observations, 5 tracks and 5 records (with a serial, track id, key and position
/// somewhere, so that every column has something to edit).
async fn seed(store: &Store) -> TestResult {
    let mut events: Vec<NewEvent> = (1..=10)
        .map(|i| observation(i, i as f64, "radar-1"))
        .collect();
    events.extend((1..=5).map(|i| track(i, i as f64, 31.0, -110.0)));
    for i in 1..=5 {
        let mut r = record(
            EventKind::Sighting,
            i as f64,
            Some(&format!("client-{i}")),
            &format!(r#"{{"sighting":{i}}}"#),
        );
        r.serial = Some(format!("SER{i}"));
        r.track_id = Some(i);
        r.position = Some(Lla::new(31.5, -110.5, 10.0 * i as f64));
        events.push(r);
    }
    store.append(events).await?;
    Ok(())
}

async fn appends_round_trip_every_field_and_hash(db: &TestDb) -> TestResult {
    let store = db.open().await;
    assert_eq!(store.backend(), db.backend());
    let mut alert = record(
        EventKind::Alert,
        101.0,
        Some("k1"),
        r#"{"note":"ünïcödé ✈ \"quoted\" \\ "}"#,
    );
    alert.serial = Some("1581F5FKD229400CX5".into());
    alert.track_id = Some(7);
    alert.position = Some(Lla::new(-33.9, 151.2, -12.5));
    let events = vec![
        observation(1, 100.0, "radar-1"),
        // The largest track id: stored as the i64 with the same bits.
        track(u64::MAX, 100.5, 31.2, -110.1),
        alert,
        observation(2, 99.0, "rf-2"),
    ];
    let t0 = now();
    let acks = store.append(events.clone()).await?;
    let t1 = now();
    let got: Vec<(Chain, u64, bool)> = acks.iter().map(|a| (a.chain, a.seq, a.duplicate)).collect();
    assert_eq!(
        got,
        vec![
            (Chain::Observations, 1, false),
            (Chain::Tracks, 1, false),
            (Chain::Records, 1, false),
            (Chain::Observations, 2, false),
        ]
    );
    assert_eq!(store.last_seq(Chain::Observations).await?, 2);
    assert_eq!(store.last_seq(Chain::Tracks).await?, 1);
    assert_eq!(store.last_seq(Chain::Records).await?, 1);
    for (e, a) in events.iter().zip(&acks) {
        let s = &store.read_after(a.chain, a.seq - 1, 1).await?[0];
        assert_eq!(
            (
                s.chain, s.seq, s.kind, s.t, &s.source, &s.serial, s.track_id
            ),
            (
                a.chain, a.seq, e.kind, e.t, &e.source, &e.serial, e.track_id
            )
        );
        assert_eq!(
            (s.position, &s.idempotency_key, &s.body),
            (e.position, &e.idempotency_key, &e.body)
        );
        assert!(
            t0 <= s.stored_at && s.stored_at <= t1,
            "stored_at {:?}",
            s.stored_at
        );
    }
    // The stored hashes follow the published definition from 32 zero bytes.
    store.append(vec![observation(3, 101.0, "radar-1")]).await?;
    for chain in Chain::ALL {
        let events = whole_chain(&store, chain).await;
        let hashes: Vec<[u8; 32]> = events.iter().map(|e| e.hash).collect();
        assert_eq!(hashes, rehash(chain, &events, GENESIS_HASH), "{chain:?}");
    }
    assert_eq!(
        all(&whole_chain(&store, Chain::Observations).await),
        [1, 2, 3]
    );
    assert!(store.verify().await?.ok());
    Ok(())
}

async fn idempotency_keys_store_once(db: &TestDb) -> TestResult {
    let store = db.open().await;
    let s = EventKind::Sighting;
    let acks = store
        .append(vec![
            record(s, 1.0, Some("a"), r#"{"first":true}"#),
            record(s, 2.0, Some("a"), r#"{"first":false}"#),
            record(s, 3.0, Some("b"), "{}"),
            // The same key under another kind is another event.
            record(EventKind::OperatorAction, 4.0, Some("a"), "{}"),
            record(s, 5.0, None, "{}"),
            record(s, 6.0, None, "{}"),
        ])
        .await?;
    let got: Vec<(u64, bool)> = acks.iter().map(|a| (a.seq, a.duplicate)).collect();
    assert_eq!(
        got,
        vec![
            (1, false),
            (1, true),
            (2, false),
            (3, false),
            (4, false),
            (5, false)
        ]
    );
    let acks = store
        .append(vec![
            record(s, 7.0, Some("b"), "{}"),
            record(s, 8.0, Some("c"), "{}"),
            record(s, 9.0, Some("a"), "{}"),
        ])
        .await?;
    let got: Vec<(u64, bool)> = acks.iter().map(|a| (a.seq, a.duplicate)).collect();
    assert_eq!(got, vec![(2, true), (6, false), (1, true)]);
    let stored = whole_chain(&store, Chain::Records).await;
    assert_eq!(all(&stored), [1, 2, 3, 4, 5, 6]);
    assert_eq!(stored[0].body, r#"{"first":true}"#);
    // Observations have keys too.
    let mut o = observation(1, 1.0, "rid-1");
    o.idempotency_key = Some("x".into());
    let a = store.append(vec![o.clone()]).await?;
    let b = store.append(vec![o]).await?;
    assert_eq!(
        (a[0].seq, a[0].duplicate, b[0].seq, b[0].duplicate),
        (1, false, 1, true)
    );
    assert_eq!(store.last_seq(Chain::Observations).await?, 1);
    assert!(store.verify().await?.ok());
    Ok(())
}

/// A batch that fails inside the database (here a trigger refuses one of its rows) leaves
/// nothing of itself, on any chain; batches appended at the same time are unaffected.
async fn a_failing_batch_stores_nothing_and_others_go_on(db: &TestDb) -> TestResult {
    let store = db.open().await;
    let trigger = match db.backend() {
        "sqlite" => {
            "CREATE TRIGGER boom BEFORE INSERT ON events_records WHEN NEW.body = '\"boom\"'
             BEGIN SELECT RAISE(ABORT, 'boom refused'); END;"
        }
        _ => {
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.body = '\"boom\"' THEN RAISE EXCEPTION 'boom refused'; END IF;
             RETURN NEW; END $$;
             CREATE TRIGGER boom BEFORE INSERT ON events_records
             FOR EACH ROW EXECUTE FUNCTION boom();"
        }
    };
    db.raw(trigger).await?;
    let bad = |i: u64| {
        vec![
            observation(i, 1.0, "radar-1"),
            track(i, 1.0, 31.0, -110.0),
            record(EventKind::Alert, 1.0, Some(&format!("ok-{i}")), "{}"),
            record(EventKind::Alert, 1.0, None, "\"boom\""),
        ]
    };
    let good = |i: u64| {
        vec![
            observation(i, 1.0, "radar-1"),
            record(EventKind::Alert, 1.0, Some(&format!("ok-{i}")), "{}"),
        ]
    };
    match store.append(bad(0)).await {
        Err(StoreError::Backend(m)) => assert!(m.contains("boom refused"), "{m}"),
        other => panic!("{other:?}"),
    }
    for c in Chain::ALL {
        assert_eq!(store.last_seq(c).await?, 0, "{c:?}");
    }
    let mut tasks = Vec::new();
    for i in 1..=12u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let batch = if i % 3 == 0 { bad(i) } else { good(i) };
            (i, store.append(batch).await)
        }));
    }
    let mut good_batches = 0;
    for t in tasks {
        let (i, r) = t.await?;
        if i % 3 == 0 {
            assert!(r.is_err(), "batch {i} should fail");
        } else {
            assert_eq!(r?.len(), 2);
            good_batches += 1;
        }
    }
    assert_eq!(store.last_seq(Chain::Observations).await?, good_batches);
    assert_eq!(store.last_seq(Chain::Tracks).await?, 0);
    assert_eq!(store.last_seq(Chain::Records).await?, good_batches);
    // A key of a failed batch was not kept: it stores now.
    let a = store
        .append(vec![record(EventKind::Alert, 1.0, Some("ok-3"), "{}")])
        .await?;
    assert!(!a[0].duplicate);
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    Ok(())
}

async fn invalid_events_are_refused_whole(db: &TestDb) -> TestResult {
    let store = db.open().await;
    let mut bad_lat = observation(2, 1.0, "radar-1");
    bad_lat.position = Some(Lla::new(f64::NAN, 0.0, 0.0));
    let mut bad_lon = observation(3, 1.0, "radar-1");
    bad_lon.position = Some(Lla::new(0.0, 181.0, 0.0));
    let mut nul = record(EventKind::Audit, 1.0, None, "{}");
    nul.source = Some("a\0b".into());
    for (event, field) in [
        (bad_lat, "position.lat_deg"),
        (bad_lon, "position.lon_deg"),
        (nul, "source"),
    ] {
        match store
            .append(vec![observation(1, 1.0, "radar-1"), event])
            .await
        {
            Err(StoreError::InvalidEvent {
                index: 1, field: f, ..
            }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(store.last_seq(Chain::Observations).await?, 0);
    assert_eq!(store.append(Vec::new()).await?.len(), 0);
    // -0.0 is stored as 0.0 on both backends, so the hash input is the same everywhere.
    let mut z = observation(1, 1.0, "radar-1");
    z.position = Some(Lla::new(-0.0, -0.0, -0.0));
    store.append(vec![z]).await?;
    let p = whole_chain(&store, Chain::Observations).await[0]
        .position
        .unwrap();
    assert_eq!(
        [p.lat_deg, p.lon_deg, p.h_m].map(f64::to_bits),
        [0.0f64.to_bits(); 3]
    );
    assert!(store.verify().await?.ok());
    Ok(())
}

async fn concurrent_appends_keep_every_chain_dense(db: &TestDb) -> TestResult {
    let store = db.open().await;
    const TASKS: u64 = 16;
    const BATCHES: u64 = 8;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for b in 0..BATCHES {
                let mut batch: Vec<NewEvent> = (0..30)
                    .map(|i| observation(task * 1000 + b * 100 + i, 1.0, &format!("s{task}")))
                    .collect();
                batch.extend((0..3).map(|i| track(task * 10 + i, 1.0, 31.0, -110.0)));
                batch.push(record(
                    EventKind::OperatorAction,
                    1.0,
                    Some(&format!("t{task}-b{b}")),
                    "{}",
                ));
                // Every task sends the same key: exactly one of them stores it.
                batch.push(record(EventKind::Sighting, 1.0, Some("shared"), "{}"));
                acks.extend(store.append(batch).await?);
            }
            Ok::<_, StoreError>(acks)
        }));
    }
    let mut seqs: BTreeMap<Chain, Vec<u64>> = BTreeMap::new();
    let mut shared = Vec::new();
    for t in tasks {
        for (i, a) in t.await??.into_iter().enumerate() {
            if i % 35 == 34 {
                shared.push((a.seq, a.duplicate));
            } else {
                assert!(!a.duplicate);
                seqs.entry(a.chain).or_default().push(a.seq);
            }
        }
    }
    assert_eq!(shared.iter().filter(|(_, dup)| !dup).count(), 1);
    let shared_seq = shared.iter().find(|(_, dup)| !dup).map(|(s, _)| *s);
    assert!(shared.iter().all(|(s, _)| Some(*s) == shared_seq));
    seqs.entry(Chain::Records).or_default().extend(shared_seq);
    for (chain, n) in [
        (Chain::Observations, TASKS * BATCHES * 30),
        (Chain::Tracks, TASKS * BATCHES * 3),
        (Chain::Records, TASKS * BATCHES + 1),
    ] {
        let mut got = seqs.remove(&chain).unwrap_or_default();
        got.sort_unstable();
        assert_eq!(got, (1..=n).collect::<Vec<_>>(), "{chain:?}");
        assert_eq!(all(&whole_chain(&store, chain).await), got);
        assert_eq!(store.last_seq(chain).await?, n);
    }
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    Ok(())
}

/// An independent statement of what a query means, to check the SQL against.
fn oracle_matches(q: &EventQuery, chain: Chain, e: &NewEvent) -> bool {
    let chain_ok = match q.chain {
        Some(c) => c == chain,
        None => true,
    };
    let kind_ok = q.kinds.is_empty() || q.kinds.contains(&e.kind);
    let time_ok = q.from.is_none_or(|f| e.t >= f) && q.to.is_none_or(|t| e.t < t);
    let box_ok = q.bbox.is_none_or(|b| {
        e.position.is_some_and(|p| {
            let lat = b.min_lat <= p.lat_deg && p.lat_deg <= b.max_lat;
            let lon = if b.min_lon <= b.max_lon {
                b.min_lon <= p.lon_deg && p.lon_deg <= b.max_lon
            } else {
                p.lon_deg >= b.min_lon || p.lon_deg <= b.max_lon
            };
            lat && lon
        })
    });
    chain_ok
        && kind_ok
        && time_ok
        && box_ok
        && q.serial
            .as_ref()
            .is_none_or(|s| e.serial.as_ref() == Some(s))
        && q.source
            .as_ref()
            .is_none_or(|s| e.source.as_ref() == Some(s))
        && q.track_id.is_none_or(|id| e.track_id == Some(id))
}

fn oracle(q: &EventQuery, appended: &[(Chain, u64, NewEvent)]) -> Vec<(Chain, u64)> {
    let mut out = Vec::new();
    for chain in Chain::ALL {
        let mut hits: Vec<(Chain, u64)> = appended
            .iter()
            .filter(|(c, seq, e)| {
                *c == chain && q.after_seq.is_none_or(|a| *seq > a) && oracle_matches(q, *c, e)
            })
            .map(|(c, s, _)| (*c, *s))
            .collect();
        if q.descending {
            hits.reverse();
        }
        out.extend(hits);
    }
    if q.limit > 0 {
        out.truncate(q.limit);
    }
    out
}

async fn queries_agree_with_a_filter_over_what_was_appended(db: &TestDb) -> TestResult {
    let store = db.open().await;
    let mut events = Vec::new();
    for i in 0..400u64 {
        // Event times out of order; positions around the antimeridian and elsewhere.
        let t_s = 1000.0 + ((i * 7919) % 400) as f64;
        let mut e = observation(i, t_s, ["radar-1", "rf-2", "rid-3"][(i % 3) as usize]);
        let lat = 10.0 + ((i * 37) % 100) as f64 * 0.1;
        let lon = match i % 4 {
            0 => 179.0 + (i % 10) as f64 * 0.1,
            1 => -179.9 + (i % 10) as f64 * 0.1,
            _ => -110.0 + (i % 50) as f64 * 0.05,
        };
        e.position = (i % 11 != 0).then_some(Lla::new(lat, lon, 50.0));
        events.push(e);
        if i % 5 == 0 {
            events.push(track(i % 13, t_s, lat, lon));
        }
        if i % 9 == 0 {
            let kind =
                [EventKind::Alert, EventKind::Sighting, EventKind::Audit][(i % 27 / 9) as usize];
            let mut r = record(kind, t_s, None, "{}");
            r.source = Some(format!("user-{}", i % 4));
            r.serial = (i % 2 == 0).then(|| format!("SERIAL{}", i % 7));
            r.track_id = Some(i % 13);
            r.position = (i % 18 == 0).then_some(Lla::new(lat, lon, 0.0));
            events.push(r);
        }
    }
    // An event exactly on a box edge.
    let mut edge = observation(9999, 1100.0, "radar-1");
    edge.position = Some(Lla::new(12.0, -109.5, 0.0));
    events.push(edge);
    let mut appended = Vec::new();
    for chunk in events.chunks(97) {
        let acks = store.append(chunk.to_vec()).await?;
        for (a, e) in acks.into_iter().zip(chunk) {
            appended.push((a.chain, a.seq, e.clone()));
        }
    }
    let bbox = |min_lat, min_lon, max_lat, max_lon| {
        Some(BBox {
            min_lat,
            min_lon,
            max_lat,
            max_lon,
        })
    };
    let queries = vec![
        EventQuery::default(),
        EventQuery {
            chain: Some(Chain::Observations),
            from: Some(TimeNs::from_secs_f64(1100.0)),
            to: Some(TimeNs::from_secs_f64(1200.0)),
            ..Default::default()
        },
        EventQuery {
            serial: Some("SERIAL3".into()),
            ..Default::default()
        },
        EventQuery {
            chain: Some(Chain::Observations),
            source: Some("rf-2".into()),
            from: Some(TimeNs::from_secs_f64(1050.0)),
            limit: 20,
            descending: true,
            ..Default::default()
        },
        EventQuery {
            chain: Some(Chain::Tracks),
            track_id: Some(4),
            ..Default::default()
        },
        EventQuery {
            kinds: vec![EventKind::Alert, EventKind::Sighting],
            ..Default::default()
        },
        EventQuery {
            kinds: vec![EventKind::Observation, EventKind::Audit],
            limit: 150,
            ..Default::default()
        },
        EventQuery {
            track_id: Some(9),
            ..Default::default()
        },
        EventQuery {
            bbox: bbox(11.0, -110.0, 14.0, -109.5),
            ..Default::default()
        },
        // Crossing the antimeridian: 179.5 E to 179.5 W.
        EventQuery {
            bbox: bbox(10.0, 179.5, 20.0, -179.5),
            ..Default::default()
        },
        EventQuery {
            chain: Some(Chain::Observations),
            bbox: bbox(10.0, 179.5, 15.0, -179.5),
            from: Some(TimeNs::from_secs_f64(1100.0)),
            source: Some("radar-1".into()),
            descending: true,
            ..Default::default()
        },
        EventQuery {
            bbox: bbox(12.0, -109.5, 12.0, -109.5),
            ..Default::default()
        },
        EventQuery {
            chain: Some(Chain::Records),
            after_seq: Some(20),
            limit: 7,
            ..Default::default()
        },
    ];
    for q in queries {
        let got: Vec<(Chain, u64)> = store
            .query(q.clone())
            .await?
            .iter()
            .map(|e| (e.chain, e.seq))
            .collect();
        let want = oracle(&q, &appended);
        assert!(
            !want.is_empty(),
            "a query that matches nothing tests little: {q:?}"
        );
        assert_eq!(got, want, "{q:?}");
    }
    // Paging with after_seq through one chain gives each event once.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .query(EventQuery {
                chain: Some(Chain::Observations),
                serial: Some("SERIAL1".into()),
                after_seq: Some(after),
                limit: 9,
                ..Default::default()
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        seen.extend(all(&page));
    }
    let want: Vec<u64> = oracle(
        &EventQuery {
            chain: Some(Chain::Observations),
            serial: Some("SERIAL1".into()),
            ..Default::default()
        },
        &appended,
    )
    .into_iter()
    .map(|(_, s)| s)
    .collect();
    assert_eq!(seen, want);
    // Refused queries.
    for q in [
        EventQuery {
            chain: Some(Chain::Tracks),
            kinds: vec![EventKind::Alert],
            ..Default::default()
        },
        EventQuery {
            bbox: bbox(20.0, 0.0, 10.0, 1.0),
            ..Default::default()
        },
        EventQuery {
            bbox: bbox(0.0, 0.0, 1.0, 200.0),
            ..Default::default()
        },
    ] {
        assert!(
            matches!(
                store.query(q.clone()).await,
                Err(StoreError::InvalidQuery(_))
            ),
            "{q:?}"
        );
    }
    Ok(())
}

async fn read_after_pages_through_a_chain(db: &TestDb) -> TestResult {
    let store = db.open().await;
    let events: Vec<NewEvent> = (0..250)
        .map(|i| observation(i, i as f64, "radar-1"))
        .collect();
    store.append(events).await?;
    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let page = store.read_after(Chain::Observations, cursor, 64).await?;
        assert!(page.len() <= 64);
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        seen.extend(page.iter().map(|e| (e.seq, e.body.clone())));
    }
    assert_eq!(
        seen.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=250).collect::<Vec<_>>()
    );
    assert_eq!(seen[9].1, observation(9, 9.0, "radar-1").body);
    assert!(
        store
            .read_after(Chain::Observations, 250, 10)
            .await?
            .is_empty()
    );
    assert!(store.read_after(Chain::Tracks, 0, 10).await?.is_empty());
    assert_eq!(store.read_after(Chain::Observations, 0, 0).await?.len(), 0);
    Ok(())
}

/// Asserts that verify finds the first bad event of `chain` at `seq` with a reason
/// containing `why`, and nothing wrong in the other chains.
async fn assert_bad(store: &Store, chain: Chain, seq: u64, why: &str) -> TestResult {
    let report = store.verify().await?;
    assert!(!report.ok());
    for c in &report.chains {
        if c.chain == chain {
            let (bad_seq, reason) = c.first_bad.clone().unwrap_or_default();
            assert_eq!(bad_seq, seq, "{chain:?}: {reason}");
            assert!(
                reason.contains(why),
                "{chain:?} seq {seq}: {reason:?} lacks {why:?}"
            );
        } else {
            assert_eq!(c.first_bad, None, "{:?}", c.chain);
        }
    }
    Ok(())
}

async fn verify_detects_each_edited_column(db: &TestDb) -> TestResult {
    let store = db.open().await;
    seed(&store).await?;
    assert!(store.verify().await?.ok());
    let rec3 = whole_chain(&store, Chain::Records).await[2].clone();
    let orig_hash = db.blob(&rec3.hash);
    // Each edit, then its undoing: verify must see the edit and accept the undone log.
    let edits: Vec<(String, String)> = [
        (
            "body = body || ' '",
            "body = substr(body, 1, length(body) - 1)",
        ),
        ("kind = 'alert'", "kind = 'sighting'"),
        ("t_ns = t_ns + 1", "t_ns = t_ns - 1"),
        (
            "stored_at_ns = stored_at_ns - 1",
            "stored_at_ns = stored_at_ns + 1",
        ),
        (
            "source = source || 'x'",
            "source = substr(source, 1, length(source) - 1)",
        ),
        (
            "serial = serial || 'x'",
            "serial = substr(serial, 1, length(serial) - 1)",
        ),
        ("serial = NULL", "serial = 'SER3'"),
        ("track_id = track_id + 1", "track_id = track_id - 1"),
        ("lat_deg = -lat_deg", "lat_deg = -lat_deg"),
        ("lon_deg = -lon_deg", "lon_deg = -lon_deg"),
        ("h_m = -h_m", "h_m = -h_m"),
        (
            "idempotency_key = idempotency_key || 'x'",
            "idempotency_key = substr(idempotency_key, 1, length(idempotency_key) - 1)",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .chain([(
        format!("hash = {}", db.blob(&[7; 32])),
        format!("hash = {orig_hash}"),
    )])
    .collect();
    for (edit, undo) in edits {
        db.raw(&format!("UPDATE events_records SET {edit} WHERE seq = 3"))
            .await?;
        assert_bad(&store, Chain::Records, 3, "hash mismatch")
            .await
            .map_err(|e| format!("{edit}: {e}"))?;
        db.raw(&format!("UPDATE events_records SET {undo} WHERE seq = 3"))
            .await?;
        let report = store.verify().await?;
        assert!(report.ok(), "after undoing {edit}: {report:?}");
    }
    // The query columns of the observations chain too.
    db.raw("UPDATE events_observations SET serial = 'SERIAL0' WHERE seq = 2")
        .await?;
    assert_bad(&store, Chain::Observations, 2, "hash mismatch").await?;
    Ok(())
}

async fn verify_detects_deleted_and_swapped_rows(db: &TestDb) -> TestResult {
    let store = db.open().await;
    seed(&store).await?;
    // Rows swapped: seq 3 holds 4's event and 4 holds 3's; swapping back repairs it.
    let swap = "UPDATE events_observations SET seq = -1 WHERE seq = 3;
                UPDATE events_observations SET seq = 3 WHERE seq = 4;
                UPDATE events_observations SET seq = 4 WHERE seq = -1;";
    db.raw(swap).await?;
    assert_bad(&store, Chain::Observations, 3, "hash mismatch").await?;
    db.raw(swap).await?;
    assert!(store.verify().await?.ok());
    // The last row deleted: only the head shows it.
    db.raw("DELETE FROM events_records WHERE seq = 5").await?;
    assert_bad(&store, Chain::Records, 5, "head").await?;
    // A row deleted in the middle.
    db.raw("DELETE FROM events_tracks WHERE seq = 3").await?;
    let report = store.verify().await?;
    let tracks = &report.chains[1];
    assert_eq!(tracks.chain, Chain::Tracks);
    let (seq, why) = tracks.first_bad.clone().unwrap_or_default();
    assert_eq!(seq, 3, "{why}");
    assert!(why.contains("gap in seq"), "{why}");
    assert_eq!((tracks.events_checked, tracks.last_seq), (2, 2));
    Ok(())
}

async fn verify_detects_an_altered_or_missing_anchor(db: &TestDb) -> TestResult {
    let store = db.open().await;
    seed(&store).await?;
    // Before any pruning the anchor is the chain's start (32 zero bytes).
    db.raw(&format!(
        "UPDATE chain_state SET anchor_hash = {} WHERE chain = 'tracks'",
        db.blob(&[1; 32])
    ))
    .await?;
    assert_bad(&store, Chain::Tracks, 1, "first event after").await?;
    db.raw(&format!(
        "UPDATE chain_state SET anchor_hash = {} WHERE chain = 'tracks'",
        db.blob(&[0; 32])
    ))
    .await?;
    assert!(store.verify().await?.ok());
    // After pruning, the anchor is the last pruned event's hash.
    assert_eq!(
        store
            .prune(Chain::Observations, TimeNs::from_secs_f64(4.5))
            .await?,
        4
    );
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.chains[0].anchor_seq, 4);
    let anchor = db
        .raw_i64s("SELECT anchor_seq FROM chain_state WHERE chain = 'observations'")
        .await?;
    assert_eq!(anchor, [4]);
    db.raw(&format!(
        "UPDATE chain_state SET anchor_hash = {} WHERE chain = 'observations'",
        db.blob(&[9; 32])
    ))
    .await?;
    assert_bad(&store, Chain::Observations, 5, "the anchor (seq 4)").await?;
    // An anchor moved back, and an anchor gone.
    db.raw("UPDATE chain_state SET anchor_seq = 3 WHERE chain = 'observations'")
        .await?;
    assert_bad(&store, Chain::Observations, 4, "gap in seq").await?;
    db.raw("DELETE FROM chain_state WHERE chain = 'observations'")
        .await?;
    assert_bad(&store, Chain::Observations, 0, "missing anchor").await?;
    Ok(())
}

async fn a_clean_log_verifies_after_appends_pruning_and_reopening(db: &TestDb) -> TestResult {
    let store = db.open().await;
    seed(&store).await?;
    store
        .prune(Chain::Observations, TimeNs::from_secs_f64(6.0))
        .await?;
    store
        .prune(Chain::Records, TimeNs::from_secs_f64(2.0))
        .await?;
    seed(&store).await?;
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    let checked: Vec<(u64, u64, u64)> = report
        .chains
        .iter()
        .map(|c| (c.anchor_seq, c.last_seq, c.events_checked))
        .collect();
    // The second seed's records reuse keys: only the pruned one's is free again.
    assert_eq!(checked, vec![(5, 20, 15), (0, 10, 10), (1, 6, 5)]);
    drop(store);
    let store = db.open().await;
    let again = store.verify().await?;
    assert_eq!(again, report);
    seed(&store).await?;
    assert_eq!(store.last_seq(Chain::Observations).await?, 30);
    assert!(store.verify().await?.ok());
    Ok(())
}

async fn prune_deletes_only_the_old_prefix(db: &TestDb) -> TestResult {
    let store = db.open().await;
    let times = [1.0, 2.0, 3.0, 10.0, 4.0, 5.0, 20.0, 6.0];
    let events: Vec<NewEvent> = times
        .iter()
        .enumerate()
        .map(|(i, &t)| observation(i as u64, t, "radar-1"))
        .collect();
    store.append(events).await?;
    seed(&store).await?; // records and tracks, which this prune leaves alone
    let at = TimeNs::from_secs_f64;
    assert_eq!(store.prune(Chain::Observations, at(1.0)).await?, 0);
    // seq 4 (t = 10 s) is not older than 5 s: it and everything after stay.
    assert_eq!(store.prune(Chain::Observations, at(5.0)).await?, 3);
    assert_eq!(
        all(&whole_chain(&store, Chain::Observations).await)[..5],
        [4, 5, 6, 7, 8]
    );
    assert_eq!(store.prune(Chain::Observations, at(11.0)).await?, 3);
    assert_eq!(store.prune(Chain::Observations, at(11.0)).await?, 0);
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.chains[0].anchor_seq, 6);
    // Everything old: the chain is empty, its numbering goes on.
    assert_eq!(store.prune(Chain::Observations, at(100.0)).await?, 12);
    assert!(whole_chain(&store, Chain::Observations).await.is_empty());
    assert_eq!(store.last_seq(Chain::Observations).await?, 18);
    assert!(store.verify().await?.ok());
    let a = store.append(vec![observation(1, 1.0, "radar-1")]).await?;
    assert_eq!(a[0].seq, 19);
    assert_eq!(whole_chain(&store, Chain::Records).await.len(), 5);
    assert_eq!(whole_chain(&store, Chain::Tracks).await.len(), 5);
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.chains[0].anchor_seq, report.chains[0].events_checked),
        (18, 1)
    );
    Ok(())
}

async fn prune_works_in_steps_over_a_long_prefix(db: &TestDb) -> TestResult {
    let store = db.open().await;
    // More than two prune transactions' worth (20,000 each).
    let n = 45_000u64;
    for start in (1..=n).step_by(5000) {
        let batch: Vec<NewEvent> = (start..start + 5000)
            .map(|i| observation(i, i as f64, "radar-1"))
            .collect();
        store.append(batch).await?;
    }
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            // Appends go on while the prune runs.
            for i in 0..20 {
                store.append(vec![observation(i, 1e9, "late")]).await?;
            }
            Ok::<_, StoreError>(())
        })
    };
    let deleted = store
        .prune(Chain::Observations, TimeNs::from_secs_f64(44_000.0))
        .await?;
    writer.await??;
    assert_eq!(deleted, 43_999);
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.chains[0].anchor_seq, 43_999);
    assert_eq!(report.chains[0].events_checked, n + 20 - 43_999);
    Ok(())
}

async fn prune_refuses_a_tampered_prefix(db: &TestDb) -> TestResult {
    let store = db.open().await;
    seed(&store).await?;
    db.raw("UPDATE events_observations SET body = '{}' WHERE seq = 2")
        .await?;
    match store
        .prune(Chain::Observations, TimeNs::from_secs_f64(100.0))
        .await
    {
        Err(StoreError::Backend(m)) => assert!(m.contains("refusing to prune"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(whole_chain(&store, Chain::Observations).await.len(), 10);
    assert_bad(&store, Chain::Observations, 2, "hash mismatch").await?;
    Ok(())
}

async fn retention_prunes_each_chain_to_its_age(db: &TestDb) -> TestResult {
    let store = db.open().await;
    seed(&store).await?; // t = 1..10 s (observations), 1..5 s (tracks, records)
    let retention = Retention {
        observations_max_age_s: Some(3),
        tracks_max_age_s: Some(100),
        records_max_age_s: None,
    };
    let pruned = store
        .apply_retention(&retention, TimeNs::from_secs_f64(10.0))
        .await?;
    assert_eq!(pruned, vec![(Chain::Observations, 6), (Chain::Tracks, 0)]);
    assert_eq!(whole_chain(&store, Chain::Records).await.len(), 5);
    assert!(store.verify().await?.ok());
    Ok(())
}

/// The numbered migration files, as the backends embed them.
fn migration_1(db: &TestDb) -> &'static str {
    match db.backend() {
        "sqlite" => include_str!("../src/sqlite/migrations/0001_event_log.sql"),
        _ => include_str!("../src/postgres/migrations/0001_event_log.sql"),
    }
}

/// A database left by a program that knew only migration 1, with one event appended by
/// hand (its hash from the published definition) is upgraded at open, its event intact.
async fn migrations_upgrade_an_old_database(db: &TestDb) -> TestResult {
    let stored_at = TimeNs(1_700_000_000_000_000_000);
    let e = record(EventKind::Alert, 5.0, Some("old"), r#"{"from":"v1"}"#);
    let hash = event_hash(
        &GENESIS_HASH,
        &EventFields {
            chain: b"records",
            seq: 1,
            kind: b"alert",
            t_ns: e.t.0,
            stored_at_ns: stored_at.0,
            source: Some(b"agent-7"),
            serial: None,
            track_id: None,
            position: None,
            idempotency_key: Some(b"old"),
            body: e.body.as_bytes(),
        },
    );
    let int8 = if db.backend() == "sqlite" {
        "INTEGER"
    } else {
        "BIGINT"
    };
    db.raw(&format!(
        "{m1}
         CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at_ns {int8} NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 0);
         INSERT INTO events_records (seq, kind, t_ns, stored_at_ns, source, idempotency_key,
                                     body, hash)
             VALUES (1, 'alert', {t}, {at}, 'agent-7', 'old', '{body}', {h});
         UPDATE chain_state SET head_seq = 1, head_hash = {h} WHERE chain = 'records';",
        m1 = migration_1(db),
        t = e.t.0,
        at = stored_at.0,
        body = e.body,
        h = db.blob(&hash),
    ))
    .await?;
    let store = db.open().await;
    let versions = db
        .raw_i64s("SELECT version FROM schema_migrations ORDER BY version")
        .await?;
    assert_eq!(versions, [1, 2]);
    let report = store.verify().await?;
    assert!(report.ok(), "{report:?}");
    let old = whole_chain(&store, Chain::Records).await;
    assert_eq!(
        (old.len(), old[0].body.as_str(), old[0].hash),
        (1, e.body.as_str(), hash)
    );
    // The tables of migration 2 work, and the old event's key still counts.
    store.create_user(&user("ana")).await?;
    let a = store.append(vec![e.clone()]).await?;
    assert_eq!((a[0].seq, a[0].duplicate), (1, true));
    drop(store);
    // Opening again changes nothing.
    let store = db.open().await;
    assert_eq!(
        db.raw_i64s("SELECT count(*) FROM schema_migrations")
            .await?,
        [2]
    );
    assert!(store.user("ana").await?.is_some());
    Ok(())
}

async fn a_newer_schema_is_refused(db: &TestDb) -> TestResult {
    let store = db.open().await;
    seed(&store).await?;
    drop(store);
    db.raw("INSERT INTO schema_migrations (version, applied_at_ns) VALUES (99, 0)")
        .await?;
    match Store::open(&db.url).await {
        Err(StoreError::SchemaTooNew { found: 99, known }) => assert_eq!(known, 2),
        other => panic!("{other:?}"),
    }
    Ok(())
}

fn user(name: &str) -> UserRecord {
    UserRecord {
        name: name.to_string(),
        role: "operator".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        failed_logins: 0,
        locked_until: None,
        created_at: TimeNs(1_700_000_000_000_000_000),
    }
}

async fn users_tokens_cursors_and_documents(db: &TestDb) -> TestResult {
    let store = db.open().await;
    // Users.
    store.create_user(&user("zoe")).await?;
    store.create_user(&user("ana")).await?;
    assert!(matches!(
        store.create_user(&user("ana")).await,
        Err(StoreError::Conflict(_))
    ));
    let names: Vec<String> = store.users().await?.into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["ana", "zoe"]);
    let mut ana = user("ana");
    ana.role = "admin".into();
    ana.disabled = true;
    ana.failed_logins = u32::MAX;
    ana.locked_until = Some(TimeNs(-5));
    store.update_user(&ana).await?;
    assert_eq!(store.user("ana").await?, Some(ana.clone()));
    assert_eq!(store.user("nobody").await?, None);
    assert!(matches!(
        store.update_user(&user("nobody")).await,
        Err(StoreError::NotFound(_))
    ));
    // Device tokens.
    let token = |id: &str, u: &str, h: u8, at: i64| DeviceTokenRecord {
        id: id.to_string(),
        user: u.to_string(),
        label: format!("phone {id}"),
        token_sha256: [h; 32],
        created_at: TimeNs(at),
        revoked_at: None,
    };
    store
        .create_device_token(&token("t2", "zoe", 2, 20))
        .await?;
    store
        .create_device_token(&token("t1", "ana", 1, 10))
        .await?;
    for (t, what) in [
        (token("t1", "ana", 3, 30), "id"),
        (token("t3", "ana", 1, 30), "hash"),
    ] {
        assert!(
            matches!(
                store.create_device_token(&t).await,
                Err(StoreError::Conflict(_))
            ),
            "{what}"
        );
    }
    assert!(matches!(
        store
            .create_device_token(&token("t4", "ghost", 4, 40))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.device_token_by_hash(&[2; 32]).await?,
        Some(token("t2", "zoe", 2, 20))
    );
    assert_eq!(store.device_token_by_hash(&[9; 32]).await?, None);
    store.revoke_device_token("t2", TimeNs(50)).await?;
    store.revoke_device_token("t2", TimeNs(60)).await?;
    let ids: Vec<(String, Option<TimeNs>)> = store
        .device_tokens()
        .await?
        .into_iter()
        .map(|t| (t.id, t.revoked_at))
        .collect();
    assert_eq!(
        ids,
        [
            ("t1".to_string(), None),
            ("t2".to_string(), Some(TimeNs(50)))
        ]
    );
    assert!(matches!(
        store.revoke_device_token("t9", TimeNs(1)).await,
        Err(StoreError::NotFound(_))
    ));
    // Deleting a user takes their tokens.
    store.delete_user("zoe").await?;
    assert!(matches!(
        store.delete_user("zoe").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.device_tokens().await?.len(), 1);
    // Cursors and documents.
    assert_eq!(store.cursor("relay").await?, None);
    store.set_cursor("relay", 5).await?;
    store.set_cursor("relay", u64::MAX).await?;
    assert_eq!(store.cursor("relay").await?, Some(u64::MAX));
    assert_eq!(store.document("zones").await?, None);
    store.put_document("zones", r#"{"a":1}"#).await?;
    store.put_document("zones", r#"{"a":2}"#).await?;
    assert_eq!(
        store.document("zones").await?.as_deref(),
        Some(r#"{"a":2}"#)
    );
    drop(store);
    let store = db.open().await;
    assert_eq!(store.cursor("relay").await?, Some(u64::MAX));
    assert_eq!(store.user("ana").await?, Some(ana));
    Ok(())
}

#[tokio::test]
async fn bad_urls_are_refused_with_the_url_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let under_file = format!("sqlite://{}/sub/dw.db", file.display());
    for url in [
        "mysql://localhost/dw".to_string(),
        "postgres://localhost:notaport/dw".to_string(),
        "sqlite://".to_string(),
        under_file,
    ] {
        match Store::open(&url).await {
            Err(StoreError::Url { url: u, reason }) => {
                assert_eq!(u, url);
                let shown = StoreError::Url {
                    url: u.clone(),
                    reason,
                }
                .to_string();
                assert!(shown.contains(&u), "{shown}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn sqlite_creates_the_data_directory_and_accepts_each_url_form() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a/b/dw.db");
    for url in [
        p.display().to_string(),
        format!("sqlite://{}", p.display()),
        format!("sqlite:{}?synchronous=full", p.display()),
    ] {
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.backend(), "sqlite");
        store
            .append(vec![observation(1, 1.0, "radar-1")])
            .await
            .unwrap();
    }
    assert!(p.exists());
    let store = Store::open(&p.display().to_string()).await.unwrap();
    assert_eq!(store.last_seq(Chain::Observations).await.unwrap(), 3);
}

/// Where the server has PostGIS, the tracks and records tables get the indexed point column
/// (observations do not: it halved their append rate), equal to the
/// stored degrees, and a database that lacks it (made before PostGIS was installed) gains it
/// at the next open. Without PostGIS there is no such column. Either way the query tests
/// above hold.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_point_column_follows_postgis() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let available = db
        .raw_i64s("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
        .await
        .unwrap()
        == [1];
    let geom_columns = || {
        db.raw_i64s(
            "SELECT count(*) FROM information_schema.columns
             WHERE column_name = 'geom' AND table_name LIKE 'events_%'",
        )
    };
    let store = db.open().await;
    assert_eq!(
        geom_columns().await.unwrap(),
        [if available { 2 } else { 0 }]
    );
    if !available {
        eprintln!("PostGIS is not installed here: the plain-column path was tested");
        return;
    }
    store
        .append(vec![
            track(1, 1.0, 31.25, -110.5),
            track(2, 1.0, -45.0, 179.75),
        ])
        .await
        .unwrap();
    let off = db
        .raw_i64s(
            "SELECT count(*) FROM events_tracks
             WHERE ST_X(geom) <> lon_deg OR ST_Y(geom) <> lat_deg OR geom IS NULL",
        )
        .await
        .unwrap();
    assert_eq!(off, [0]);
    drop(store);
    db.raw("ALTER TABLE events_tracks DROP COLUMN geom")
        .await
        .unwrap();
    assert_eq!(geom_columns().await.unwrap(), [1]);
    let store = db.open().await;
    assert_eq!(geom_columns().await.unwrap(), [2]);
    let hits = store
        .query(EventQuery {
            bbox: Some(BBox {
                min_lat: -46.0,
                min_lon: 179.5,
                max_lat: -44.0,
                max_lon: -179.5,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        hits.iter().map(|e| e.track_id).collect::<Vec<_>>(),
        [Some(2)]
    );
    assert!(store.verify().await.unwrap().ok());
}
