//! What sensors say about who a target is, kept on its track: their classifications, the
//! radio emission an RF sensor heard, and each sensor's own id for the object.

use dronewatch_model::{Classification, IdentityHints, RfEmission, SensorId};

/// Association cost taken off [nats] when a report carries the object id that the same
/// sensor gave the track's earlier reports: that sensor's tracker already holds the two
/// together, which keeps crossing targets apart. The kinematic gate still applies. There is
/// no matching penalty for a different id: sensor trackers re-number targets they re-acquire.
pub const SAME_OBJECT_BONUS: f64 = 6.0;

/// Votes older than this many classifications count half as much: a class that sensors
/// stopped reporting fades.
const CLASS_HALF_LIFE: f64 = 20.0;
/// At most this many classes are kept per track (the weakest goes when a new one comes).
const MAX_CLASSES: usize = 8;

/// The hints of one observation that a track keeps (its serial and pilot position are kept
/// apart: they are association keys and claims, see `BroadcastId`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    pub object_id: Option<String>,
    pub classification: Option<Classification>,
    pub rf_emission: Option<RfEmission>,
}

impl Hints {
    pub fn of(identity: &IdentityHints) -> Self {
        Self {
            object_id: identity.sensor_object_id.clone(),
            classification: identity
                .classification
                .clone()
                .filter(|c| c.confidence.is_finite() && !c.class.is_empty()),
            rf_emission: identity
                .rf_emission
                .filter(|rf| rf.centre_frequency_hz.is_finite() && rf.centre_frequency_hz > 0.0),
        }
    }
}

/// What the reports associated with a track said about who the target is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    pub classes: ClassVotes,
    /// The latest emission an RF sensor heard from the target.
    pub rf_emission: Option<RfEmission>,
    pub objects: SensorObjects,
}

impl Evidence {
    pub fn note(&mut self, sensor: &SensorId, hints: &Hints) {
        if let Some(c) = &hints.classification {
            self.classes.add(c);
        }
        if let Some(rf) = hints.rf_emission {
            self.rf_emission = Some(rf);
        }
        if let Some(id) = &hints.object_id {
            self.objects.note(sensor, id);
        }
    }

    /// The association cost change for a report carrying `hints` from `sensor`.
    pub fn object_id_cost(&self, sensor: &SensorId, hints: &Hints) -> f64 {
        match &hints.object_id {
            Some(id) if self.objects.same(sensor, id) => -SAME_OBJECT_BONUS,
            _ => 0.0,
        }
    }

    /// Takes in a merged duplicate's evidence: its votes add up, and its sensors' object
    /// ids and emission fill what this track lacks.
    pub fn absorb(&mut self, other: Evidence) {
        for (class, v) in other.classes.votes {
            self.classes.add_weight(&class, v);
        }
        if self.rf_emission.is_none() {
            self.rf_emission = other.rf_emission;
        }
        for (sensor, id) in other.objects.0 {
            if !self.objects.0.iter().any(|(s, _)| *s == sensor) {
                self.objects.0.push((sensor, id));
            }
        }
    }
}

/// Classifications weighed by their confidence, older ones fading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassVotes {
    votes: Vec<(String, f64)>,
}

impl ClassVotes {
    pub fn add(&mut self, c: &Classification) {
        let keep = 0.5f64.powf(1.0 / CLASS_HALF_LIFE);
        for (_, v) in &mut self.votes {
            *v *= keep;
        }
        self.add_weight(&c.class, c.confidence.clamp(0.0, 1.0));
    }

    fn add_weight(&mut self, class: &str, weight: f64) {
        if let Some((_, v)) = self.votes.iter_mut().find(|(c, _)| c == class) {
            *v += weight;
            return;
        }
        if self.votes.len() == MAX_CLASSES
            && let Some(weakest) =
                (0..self.votes.len()).min_by(|&a, &b| self.votes[a].1.total_cmp(&self.votes[b].1))
        {
            self.votes.swap_remove(weakest);
        }
        self.votes.push((class.to_owned(), weight));
    }

    /// The class with the most weight and its share of all the weight, in [0, 1].
    pub fn best(&self) -> Option<(&str, f64)> {
        let total: f64 = self.votes.iter().map(|(_, v)| v).sum();
        let (class, v) = self
            .votes
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
        (total > 0.0).then(|| (class.as_str(), v / total))
    }
}

/// Each sensor's latest id for the object (one entry per sensor).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SensorObjects(Vec<(SensorId, String)>);

impl SensorObjects {
    pub fn note(&mut self, sensor: &SensorId, object_id: &str) {
        match self.0.iter_mut().find(|(s, _)| s == sensor) {
            Some((_, id)) if id == object_id => {}
            Some((_, id)) => *id = object_id.to_owned(),
            None => self.0.push((sensor.clone(), object_id.to_owned())),
        }
    }

    /// True when `sensor` last reported this object under `object_id`.
    pub fn same(&self, sensor: &SensorId, object_id: &str) -> bool {
        self.0.iter().any(|(s, id)| s == sensor && id == object_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, confidence: f64) -> Classification {
        Classification {
            class: name.into(),
            confidence,
        }
    }

    #[test]
    fn the_class_most_sensors_report_wins_and_old_votes_fade() {
        let mut votes = ClassVotes::default();
        assert_eq!(votes.best(), None);
        for _ in 0..5 {
            votes.add(&class("bird", 0.6));
        }
        votes.add(&class("uav.multirotor", 0.9));
        let Some((best, share)) = votes.best() else {
            panic!("no class")
        };
        assert_eq!(best, "bird");
        assert!(share > 0.7 && share < 0.8, "{share}");
        // The classifier changed its mind: after long enough, the new class leads.
        for _ in 0..6 {
            votes.add(&class("uav.multirotor", 0.9));
        }
        assert_eq!(votes.best().map(|b| b.0), Some("uav.multirotor"));
        // Zero confidence carries no weight.
        let mut votes = ClassVotes::default();
        votes.add(&class("bird", 0.0));
        assert_eq!(votes.best(), None);
    }

    #[test]
    fn at_most_a_few_classes_are_kept() {
        let mut votes = ClassVotes::default();
        for i in 0..20 {
            votes.add(&class(&format!("c{i}"), 0.5));
        }
        assert_eq!(votes.votes.len(), MAX_CLASSES);
        assert_eq!(votes.best().map(|b| b.0), Some("c19"));
    }

    #[test]
    fn object_ids_are_per_sensor() {
        let (a, b) = (SensorId::new("radar-a"), SensorId::new("radar-b"));
        let mut objects = SensorObjects::default();
        objects.note(&a, "01A");
        objects.note(&b, "01B");
        assert!(objects.same(&a, "01A") && objects.same(&b, "01B"));
        assert!(
            !objects.same(&a, "01B"),
            "another sensor's id means nothing"
        );
        objects.note(&a, "01C");
        assert!(!objects.same(&a, "01A") && objects.same(&a, "01C"));
    }
}
