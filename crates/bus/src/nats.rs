//! NATS JetStream (server 2.9 and later).
//!
//! One stream per sector, `DW_<sector>` over `dw.<sector>.>`, created on first use with the
//! configured `max_age` and `duplicate_window` (an existing one is used as it is; a
//! different configuration is logged, never overwritten). Publishing pipelines up to
//! [`MAX_IN_FLIGHT`] messages before it waits for their acks; each carries `Nats-Msg-Id`
//! and, after the first of its sector in the batch, `Nats-Expected-Last-Msg-Id`, so the
//! stream never stores a message whose predecessor it lacks. A subscription is one durable
//! pull consumer per (sector, kind), or per sector for every kind, each pulled by its own
//! task into one channel; `"*"` lists the `DW_` streams every few seconds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::{
    CreateStreamErrorKind, GetStreamErrorKind, PublishAckFuture, PublishErrorKind,
};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, consumer, stream};
use async_nats::{ConnectOptions, Event, ServerAddr};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::names::{self, stream_name, stream_subjects};
use crate::{Acker, BusConfig, BusCounters, BusError, BusMessage, Delivery, Filter};

/// Publishes sent before waiting for the oldest ack: well under the ~5,000 pending acks at
/// which the client stalls, enough to keep a loopback link busy.
pub(crate) const MAX_IN_FLIGHT: usize = 2_048;
/// The client's own bound on acks in flight (dropped futures of a failed batch keep a
/// permit until their ack or `ACK_TIMEOUT`).
const ACK_PERMITS: usize = 4 * MAX_IN_FLIGHT;
/// Bounds every wait on the server: an API request, one publish ack. A publish whose
/// connection breaks fails sooner, on the disconnect event.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Pings find a dead link that TCP does not report (two missed pongs).
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// Reconnect attempts back off to this.
const RECONNECT_CAP: Duration = Duration::from_secs(2);
/// How often a `"*"` subscription looks for new sector streams.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(2);
/// Deliveries buffered between the consumer tasks and `Subscription::next`.
const SUB_BUFFER: usize = 1_024;
/// Pull requests ask for this many messages; the next is sent at half.
const PULL_BATCH: usize = 500;
const PULL_EXPIRES: Duration = Duration::from_secs(30);
const PULL_HEARTBEAT: Duration = Duration::from_secs(5);
/// A delivery not acked within this is sent again.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// Unacked deliveries per consumer before the server waits.
const MAX_ACK_PENDING: i64 = 20_000;
/// Retry pacing of the consumer and discovery tasks.
const TASK_BACKOFF_FIRST: Duration = Duration::from_millis(100);
const TASK_BACKOFF_CAP: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct NatsBus {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// The servers, without credentials.
    url: String,
    client: async_nats::Client,
    js: jetstream::Context,
    cfg: BusConfig,
    /// Sectors whose stream is known to exist.
    ensured: Mutex<HashSet<String>>,
    /// `true` while connected, from the client's events.
    connected: watch::Receiver<bool>,
    counters: BusCounters,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl NatsBus {
    pub async fn connect(url: &str, cfg: &BusConfig) -> Result<NatsBus, BusError> {
        let mut addrs = Vec::new();
        for u in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let addr: ServerAddr = u.parse().map_err(|e| BusError::Url {
                url: url.to_owned(),
                reason: format!("{u:?}: {e}"),
            })?;
            addrs.push(addr);
        }
        let shown = addrs
            .iter()
            .map(|a| format!("{}://{}:{}", a.scheme(), a.host(), a.port()))
            .collect::<Vec<_>>()
            .join(",");

        let (up_tx, up_rx) = watch::channel(false);
        let up_tx = Arc::new(up_tx);
        // Set by the first connection attempt's outcome, either way.
        let (tried_tx, mut tried_rx) = watch::channel(false);
        let tried_tx = Arc::new(tried_tx);
        let log_url = shown.clone();
        let options = ConnectOptions::new()
            .name("dronewatch")
            // Never fail because the server is away now: the client keeps trying.
            .retry_on_initial_connect()
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(REQUEST_TIMEOUT))
            .ping_interval(PING_INTERVAL)
            .reconnect_delay_callback(|attempts| {
                let ms = 50u64.saturating_mul(1u64 << attempts.min(10));
                Duration::from_millis(ms).min(RECONNECT_CAP)
            })
            .event_callback(move |event| {
                let (up_tx, tried_tx) = (up_tx.clone(), tried_tx.clone());
                let url = log_url.clone();
                async move {
                    match event {
                        Event::Connected => {
                            tracing::info!(%url, "bus: connected to NATS");
                            up_tx.send_replace(true);
                        }
                        Event::Disconnected => {
                            tracing::warn!(%url, "bus: disconnected from NATS");
                            up_tx.send_replace(false);
                        }
                        Event::ClientError(e) => {
                            tracing::debug!(%url, error = %e, "bus: NATS client error");
                        }
                        other => tracing::debug!(%url, event = %other, "bus: NATS client event"),
                    }
                    tried_tx.send_replace(true);
                }
            });
        let client = options.connect(addrs).await.map_err(|e| BusError::Url {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        // Give the first attempt its chance, so that a bus used right after `connect` is
        // up when the server is; an unreachable one is reported within CONNECT_TIMEOUT.
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, tried_rx.wait_for(|t| *t)).await;
        if client.connection_state() != async_nats::connection::State::Connected {
            tracing::warn!(url = %shown, "bus: NATS not reachable yet; retrying in the background");
        }
        let js = jetstream::context::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .ack_timeout(REQUEST_TIMEOUT)
            .max_ack_inflight(ACK_PERMITS)
            .backpressure_on_inflight(true)
            .build(client.clone());
        Ok(NatsBus {
            shared: Arc::new(Shared {
                url: shown,
                client,
                js,
                cfg: cfg.clone(),
                ensured: Mutex::new(HashSet::new()),
                connected: up_rx,
                counters: BusCounters::default(),
            }),
        })
    }

    pub fn display_url(&self) -> String {
        self.shared.url.clone()
    }

    pub fn is_connected(&self) -> bool {
        self.shared.is_connected()
    }

    pub fn counters(&self) -> &BusCounters {
        &self.shared.counters
    }

    pub fn connected_watch(&self) -> watch::Receiver<bool> {
        self.shared.connected.clone()
    }

    pub async fn publish_batch(&self, msgs: &[BusMessage]) -> Result<(), BusError> {
        self.shared.publish_batch(msgs).await
    }

    pub async fn subscribe(
        &self,
        filter: Filter,
        durable: &str,
    ) -> Result<NatsSubscription, BusError> {
        let (tx, rx) = mpsc::channel(SUB_BUFFER);
        let cancel = CancellationToken::new();
        let kinds: Vec<Option<String>> = match &filter.kinds {
            None => vec![None],
            Some(k) => k.iter().cloned().map(Some).collect(),
        };
        match &filter.sectors {
            Some(sectors) => {
                for sector in sectors {
                    for kind in &kinds {
                        let target = ConsumerTarget::new(sector, kind.as_deref(), durable)?;
                        tokio::spawn(consume(
                            self.shared.clone(),
                            target,
                            tx.clone(),
                            cancel.child_token(),
                        ));
                    }
                }
            }
            None => {
                tokio::spawn(discover(
                    self.shared.clone(),
                    kinds,
                    durable.to_owned(),
                    tx,
                    cancel.child_token(),
                ));
            }
        }
        Ok(NatsSubscription {
            rx,
            _stop: cancel.drop_guard(),
        })
    }

    pub async fn delete_durable(&self, filter: &Filter, durable: &str) -> Result<(), BusError> {
        let sectors = match &filter.sectors {
            Some(s) => s.clone(),
            None => self.shared.sector_streams().await?,
        };
        let kinds: Vec<Option<&str>> = match &filter.kinds {
            None => vec![None],
            Some(k) => k.iter().map(|k| Some(k.as_str())).collect(),
        };
        for sector in &sectors {
            let stream = stream_name(sector)?;
            for kind in &kinds {
                let target = ConsumerTarget::new(sector, *kind, durable)?;
                match self
                    .shared
                    .js
                    .delete_consumer_from_stream(&target.consumer, &stream)
                    .await
                {
                    Ok(_) => {}
                    // Already gone (or never made) is what we wanted.
                    Err(e)
                        if matches!(e.kind(), stream::ConsumerErrorKind::JetStream(j)
                        if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND
                            || j.error_code() == ErrorCode::STREAM_NOT_FOUND) => {}
                    Err(e) => {
                        return Err(self.shared.unavailable(format_args!(
                            "deleting consumer {} on {stream}: {e}",
                            target.consumer
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Shared {
    fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    fn unavailable(&self, what: impl std::fmt::Display) -> BusError {
        BusError::Unavailable(format!("{what} ({})", self.url))
    }

    fn stream_config(&self, sector: &str) -> Result<stream::Config, BusError> {
        Ok(stream::Config {
            name: stream_name(sector)?,
            subjects: vec![stream_subjects(sector)?],
            max_age: Duration::from_secs(self.cfg.max_age_s),
            duplicate_window: Duration::from_secs(self.cfg.duplicate_window_s),
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::Old,
            num_replicas: 1,
            description: Some(format!("dronewatch sector {sector}")),
            ..Default::default()
        })
    }

    /// Gets or creates the sector's stream. An existing stream is never changed; one that
    /// differs from our configuration is logged.
    async fn ensure_stream(&self, sector: &str) -> Result<(), BusError> {
        if lock(&self.ensured).contains(sector) {
            return Ok(());
        }
        if !self.is_connected() {
            // Not a request that waits out its timeout on a link known to be down.
            return Err(self.unavailable("not connected"));
        }
        let want = self.stream_config(sector)?;
        let name = want.name.clone();
        let have = match self.js.get_stream(&name).await {
            Ok(s) => s.cached_info().config.clone(),
            Err(e) => {
                let missing = matches!(e.kind(), GetStreamErrorKind::JetStream(j)
                    if j.error_code() == ErrorCode::STREAM_NOT_FOUND);
                if !missing {
                    return Err(self.unavailable(format_args!("looking up stream {name}: {e}")));
                }
                match self.js.create_stream(want.clone()).await {
                    Ok(_) => {
                        tracing::info!(stream = %name, subjects = ?want.subjects,
                            max_age_s = self.cfg.max_age_s,
                            duplicate_window_s = self.cfg.duplicate_window_s,
                            "bus: created stream");
                        want.clone()
                    }
                    Err(e) => {
                        let raced = matches!(e.kind(), CreateStreamErrorKind::JetStream(j)
                            if j.error_code() == ErrorCode::STREAM_NAME_EXIST);
                        if !raced {
                            return Err(match e.kind() {
                                CreateStreamErrorKind::JetStream(j) => {
                                    BusError::Other(format!("creating stream {name}: {j}"))
                                }
                                _ => self.unavailable(format_args!("creating stream {name}: {e}")),
                            });
                        }
                        // Someone created it meanwhile: use theirs.
                        self.js
                            .get_stream(&name)
                            .await
                            .map_err(|e| {
                                self.unavailable(format_args!("looking up stream {name}: {e}"))
                            })?
                            .cached_info()
                            .config
                            .clone()
                    }
                }
            }
        };
        if have.subjects != want.subjects
            || have.max_age != want.max_age
            || have.duplicate_window != want.duplicate_window
        {
            tracing::warn!(
                stream = %name,
                subjects = ?have.subjects, want_subjects = ?want.subjects,
                max_age_s = have.max_age.as_secs(), want_max_age_s = want.max_age.as_secs(),
                duplicate_window_s = have.duplicate_window.as_secs(),
                want_duplicate_window_s = want.duplicate_window.as_secs(),
                "bus: stream exists with another configuration; using it as it is"
            );
        }
        lock(&self.ensured).insert(sector.to_owned());
        Ok(())
    }

    /// The sectors that have a stream now.
    async fn sector_streams(&self) -> Result<Vec<String>, BusError> {
        if !self.is_connected() {
            return Err(self.unavailable("not connected"));
        }
        let list = async {
            let mut names = self.js.stream_names();
            let mut out = Vec::new();
            while let Some(n) = names.next().await {
                let n = n.map_err(|e| self.unavailable(format_args!("listing streams: {e}")))?;
                if let Some(sector) = names::sector_of_stream(&n) {
                    out.push(sector.to_owned());
                }
            }
            Ok(out)
        };
        tokio::time::timeout(2 * REQUEST_TIMEOUT, list)
            .await
            .map_err(|_| self.unavailable("listing streams timed out"))?
    }

    async fn publish_batch(&self, msgs: &[BusMessage]) -> Result<(), BusError> {
        if msgs.is_empty() {
            return Ok(());
        }
        let mut sectors = Vec::with_capacity(msgs.len());
        for m in msgs {
            sectors.push(m.check()?.0);
        }
        if !self.is_connected() {
            return Err(self.unavailable("not connected"));
        }
        let mut seen = HashSet::new();
        for s in &sectors {
            if seen.insert(*s) {
                self.ensure_stream(s).await?;
            }
        }

        // Fails the batch as soon as the connection drops, instead of waiting out acks.
        let mut link = self.connected.clone();
        link.borrow_and_update();
        let lost = async move {
            loop {
                if link.changed().await.is_err() {
                    return std::future::pending::<()>().await;
                }
                if !*link.borrow_and_update() {
                    return;
                }
            }
        };
        tokio::pin!(lost);

        // A run publishes msgs[start..]; it restarts once at a message the stream refused
        // for "wrong last msg id" after its predecessor was acknowledged, which happens
        // only when something else was stored in between (another publisher, or a stream
        // recreated meanwhile). The predecessor is known stored, so that message goes
        // without the expectation.
        let mut start = 0;
        'run: loop {
            let mut last_id: HashMap<&str, &str> = HashMap::new();
            let mut inflight: VecDeque<(usize, PublishAckFuture)> =
                VecDeque::with_capacity(MAX_IN_FLIGHT);
            let mut next = start;
            while next < msgs.len() || !inflight.is_empty() {
                if next < msgs.len() && inflight.len() < MAX_IN_FLIGHT {
                    let m = &msgs[next];
                    let mut p = PublishMessage::build()
                        .payload(m.payload.clone())
                        .message_id(&m.id);
                    if let Some(prev) = last_id.insert(sectors[next], &m.id) {
                        p = p.expected_last_message_id(prev);
                    }
                    let send = self.js.send_publish(m.subject.clone(), p);
                    let fut = tokio::select! {
                        r = send => r.map_err(|e| self.publish_error(&e, m))?,
                        _ = &mut lost => return Err(self.unavailable("connection lost")),
                    };
                    inflight.push_back((next, fut));
                    next += 1;
                    continue;
                }
                let Some((i, fut)) = inflight.pop_front() else {
                    break;
                };
                let ack = tokio::select! {
                    r = fut => r,
                    _ = &mut lost => return Err(self.unavailable("connection lost")),
                };
                let m = &msgs[i];
                match ack {
                    Ok(ack) => {
                        if names::sector_of_stream(&ack.stream) != Some(sectors[i]) {
                            return Err(BusError::Other(format!(
                                "{} was stored by stream {:?}, not DW_{}: another stream \
                                 captures dw.{}.>",
                                m.subject, ack.stream, sectors[i], sectors[i]
                            )));
                        }
                        let c = if ack.duplicate {
                            &self.counters.duplicates
                        } else {
                            &self.counters.published
                        };
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == PublishErrorKind::WrongLastMessageId => {
                        tracing::debug!(id = %m.id, error = %e,
                            "bus: stream's last message is not this one's predecessor; \
                             sending it again without the expectation");
                        start = i;
                        // The futures still in flight are for messages the stream refuses
                        // too (their predecessor is missing); dropping them is fine.
                        continue 'run;
                    }
                    Err(e) => return Err(self.publish_error(&e, m)),
                }
            }
            return Ok(());
        }
    }

    fn publish_error(
        &self,
        e: &async_nats::jetstream::context::PublishError,
        m: &BusMessage,
    ) -> BusError {
        match e.kind() {
            PublishErrorKind::MaxPayloadExceeded => BusError::Rejected {
                id: m.id.clone(),
                reason: format!("{e} ({} bytes)", m.payload.len()),
            },
            PublishErrorKind::StreamNotFound => {
                // The stream went away (or never was): look it up again next time.
                if let Ok((sector, _)) = names::parse_subject(&m.subject) {
                    lock(&self.ensured).remove(sector);
                }
                self.unavailable(format_args!("no stream took {}", m.subject))
            }
            PublishErrorKind::TimedOut
            | PublishErrorKind::BrokenPipe
            | PublishErrorKind::MaxAckPending => {
                self.unavailable(format_args!("publishing {}: {e}", m.id))
            }
            _ if !self.is_connected() => self.unavailable(format_args!("publishing {}: {e}", m.id)),
            _ => BusError::Other(format!("publishing {} on {}: {e}", m.id, m.subject)),
        }
    }
}

/// One durable consumer: which stream, filter and name.
#[derive(Debug, Clone)]
struct ConsumerTarget {
    sector: String,
    stream: String,
    filter: String,
    /// `<durable>` when it takes every kind, `<durable>_<kind>` for one kind.
    consumer: String,
}

impl ConsumerTarget {
    fn new(sector: &str, kind: Option<&str>, durable: &str) -> Result<Self, BusError> {
        let (filter, consumer) = match kind {
            None => (stream_subjects(sector)?, durable.to_owned()),
            Some(k) => (names::subject(sector, k)?, format!("{durable}_{k}")),
        };
        Ok(ConsumerTarget {
            sector: sector.to_owned(),
            stream: stream_name(sector)?,
            filter,
            consumer,
        })
    }

    fn config(&self) -> consumer::pull::Config {
        consumer::pull::Config {
            durable_name: Some(self.consumer.clone()),
            filter_subject: self.filter.clone(),
            deliver_policy: consumer::DeliverPolicy::All,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_ack_pending: MAX_ACK_PENDING,
            ..Default::default()
        }
    }
}

/// Why a consumer could not be set up.
enum SetupError {
    /// Try again later.
    Transient(BusError),
    /// A consumer of that name exists with another filter: retrying cannot help.
    Conflict(BusError),
}

async fn open(shared: &Shared, t: &ConsumerTarget) -> Result<consumer::pull::Stream, SetupError> {
    let transient = |what: &str, e: &dyn std::fmt::Display| {
        SetupError::Transient(
            shared.unavailable(format_args!("{what} {} on {}: {e}", t.consumer, t.stream)),
        )
    };
    shared
        .ensure_stream(&t.sector)
        .await
        .map_err(SetupError::Transient)?;
    let stream = shared
        .js
        .get_stream_no_info(&t.stream)
        .await
        .map_err(|e| transient("stream for consumer", &e))?;
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(&t.consumer, t.config())
        .await
        .map_err(|e| transient("creating consumer", &e))?;
    let have = &consumer.cached_info().config;
    if have.filter_subject != t.filter {
        return Err(SetupError::Conflict(BusError::Other(format!(
            "consumer {} on {} exists with filter {:?}, not {:?}: use another durable name",
            t.consumer, t.stream, have.filter_subject, t.filter
        ))));
    }
    consumer
        .stream()
        .max_messages_per_batch(PULL_BATCH)
        .expires(PULL_EXPIRES)
        .heartbeat(PULL_HEARTBEAT)
        .messages()
        .await
        .map_err(|e| transient("pulling from", &e))
}

/// Pulls one consumer into the subscription's channel until cancelled or the subscription
/// is dropped; reopens it after errors, with backoff.
async fn consume(
    shared: Arc<Shared>,
    t: ConsumerTarget,
    tx: mpsc::Sender<Result<Delivery, BusError>>,
    cancel: CancellationToken,
) {
    let mut backoff = TASK_BACKOFF_FIRST;
    // One error per failure streak reaches the subscriber, not one per retry.
    let mut told = false;
    loop {
        let opened = tokio::select! {
            _ = cancel.cancelled() => return,
            r = open(&shared, &t) => r,
        };
        let mut messages = match opened {
            Ok(m) => m,
            Err(SetupError::Conflict(e)) => {
                tracing::error!(error = %e, "bus: subscription cannot use this consumer");
                let _ = tx.send(Err(e)).await;
                return;
            }
            Err(SetupError::Transient(e)) => {
                tracing::debug!(error = %e, "bus: consumer not ready; retrying");
                if !told {
                    told = true;
                    if tx.send(Err(e)).await.is_err() {
                        return;
                    }
                }
                if sleep_or_cancel(&mut backoff, &shared, &cancel).await {
                    return;
                }
                continue;
            }
        };
        loop {
            let item = tokio::select! {
                _ = cancel.cancelled() => return,
                item = messages.next() => item,
            };
            match item {
                Some(Ok(m)) => {
                    told = false;
                    backoff = TASK_BACKOFF_FIRST;
                    let d = delivery(&t, m);
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        r = tx.send(Ok(d)) => if r.is_err() { return },
                    }
                }
                Some(Err(e)) => {
                    let e = shared
                        .unavailable(format_args!("consumer {} on {}: {e}", t.consumer, t.stream));
                    tracing::debug!(error = %e, "bus: pull failed; reopening the consumer");
                    if !told {
                        told = true;
                        if tx.send(Err(e)).await.is_err() {
                            return;
                        }
                    }
                    break;
                }
                None => break,
            }
        }
        if sleep_or_cancel(&mut backoff, &shared, &cancel).await {
            return;
        }
    }
}

/// Sleeps the backoff and doubles it, or less when the link comes back; `true` when
/// cancelled.
async fn sleep_or_cancel(
    backoff: &mut Duration,
    shared: &Shared,
    cancel: &CancellationToken,
) -> bool {
    let d = *backoff;
    *backoff = (*backoff * 2).min(TASK_BACKOFF_CAP);
    let mut link = shared.connected.clone();
    let back = async {
        if *link.borrow_and_update() || link.wait_for(|up| *up).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
        _ = back => false,
    }
}

/// For `"*"`: starts consumers for every sector stream, now and as new ones appear.
async fn discover(
    shared: Arc<Shared>,
    kinds: Vec<Option<String>>,
    durable: String,
    tx: mpsc::Sender<Result<Delivery, BusError>>,
    cancel: CancellationToken,
) {
    let mut started: HashSet<String> = HashSet::new();
    let mut told = false;
    loop {
        match shared.sector_streams().await {
            Ok(sectors) => {
                told = false;
                for sector in sectors {
                    if started.contains(&sector) {
                        continue;
                    }
                    // Only streams laid out as ours: `DW_x` must hold exactly `dw.x.>`.
                    let want = match stream_subjects(&sector) {
                        Ok(w) => w,
                        Err(_) => continue,
                    };
                    let subjects = match shared.js.get_stream(format!("DW_{sector}")).await {
                        Ok(s) => s.cached_info().config.subjects.clone(),
                        Err(e) => {
                            tracing::debug!(%sector, error = %e, "bus: stream info failed; later");
                            continue;
                        }
                    };
                    started.insert(sector.clone());
                    if subjects != [want.clone()] {
                        tracing::warn!(%sector, ?subjects, %want,
                            "bus: stream has the DW_ prefix but not our subjects; not subscribed");
                        continue;
                    }
                    tracing::info!(%sector, %durable, "bus: subscribing to a sector");
                    for kind in &kinds {
                        match ConsumerTarget::new(&sector, kind.as_deref(), &durable) {
                            Ok(t) => {
                                tokio::spawn(consume(
                                    shared.clone(),
                                    t,
                                    tx.clone(),
                                    cancel.child_token(),
                                ));
                            }
                            Err(e) => tracing::warn!(%sector, error = %e, "bus: not subscribed"),
                        }
                    }
                }
            }
            Err(e) => {
                if !told {
                    told = true;
                    if tx.send(Err(e)).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tx.closed() => return,
            _ = tokio::time::sleep(DISCOVERY_INTERVAL) => {}
        }
    }
}

fn delivery(t: &ConsumerTarget, m: jetstream::Message) -> Delivery {
    let (stream_seq, delivered) = match m.info() {
        Ok(i) => (i.stream_sequence, i.delivered.max(1) as u64),
        Err(_) => (0, 1),
    };
    let subject = m.message.subject.to_string();
    let kind = match names::parse_subject(&subject) {
        Ok((_, k)) => k.to_owned(),
        Err(_) => String::new(),
    };
    let id = m
        .message
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str().to_owned())
        // Not published through this crate: an id that cannot be mistaken for one of ours.
        .unwrap_or_else(|| format!("{}:{stream_seq}", t.stream));
    Delivery {
        subject,
        id,
        payload: m.message.payload.clone(),
        sector: t.sector.clone(),
        kind,
        stream_seq,
        delivered,
        acker: Acker::Nats(Box::new(m)),
    }
}

#[derive(Debug)]
pub(crate) struct NatsSubscription {
    rx: mpsc::Receiver<Result<Delivery, BusError>>,
    /// Stops the consumer tasks when the subscription is dropped.
    _stop: DropGuard,
}

impl NatsSubscription {
    pub async fn next(&mut self) -> Option<Result<Delivery, BusError>> {
        self.rx.recv().await
    }
}
