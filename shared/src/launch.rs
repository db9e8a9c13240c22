//! The launch protocol: how one due slot becomes exactly one enqueued ClearML clone.
//!
//! Sans-IO, like the planner: a [`LaunchAttempt`] says which ClearML call to make next
//! ([`Call`]), the runtime makes it and feeds back what ClearML answered ([`Answer`]), until the
//! attempt ends with an [`Outcome`]. The runtime never decides anything; it only moves bytes
//! (and caches what the attempt [`Learned`]).
//!
//! Exactly once rests on two layers:
//! 1. **The claim.** The instance's state records a slot as in flight, with the runtime
//!    incarnation that owns it, *before* the first call ([`crate::InstanceState::claim_in_flight`]);
//!    the state has one writer at a time (the worker's Durable Object), so a second tick never
//!    starts a second attempt. A claim of a dead incarnation is released only after a lease long
//!    enough for any call it had in flight to have landed
//!    ([`crate::InstanceState::release_stale_claims`]); the retry then starts here in recovery
//!    mode.
//! 2. **ClearML itself.** Every clone carries the slot's tag ([`crate::SlotKey::tag`]). After
//!    cloning, the attempt lists the slot's clones, oldest first: the oldest wins. Only the
//!    winner is ever enqueued, and only after every other clone not yet enqueued is deleted;
//!    the attempt that made a losing clone deletes it and enqueues nothing. A recovery attempt
//!    lists first and carries on from whatever an earlier attempt left (a clone whose answer was
//!    lost, a clone not enqueued yet, an enqueue whose answer was lost).
//!
//! `shared/tests/launch_model.rs` checks both exhaustively: every interleaving of two racing
//! ticks, with calls that fail before or after ClearML acted and a crash between any two steps,
//! and every interleaving of two attempts racing with no claim at all.
//!
//! In steady state (queue, project and base task name cached, a first attempt) a launch costs
//! three calls (clone, list, enqueue), four with task parameters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::planner::Launch;
use crate::{Instant, TaskStatus};

/// Ids the runtime has cached from earlier attempts (each `None` is looked up).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub queue_id: Option<String>,
    /// Only read when the launch has a destination project.
    pub project_id: Option<String>,
    pub base: Option<BaseTask>,
}

/// The base task as its clones start from it: its name (a clone is "<name> @ <slot>") and its
/// tags. A clone keeps the base's tags and adds the scheduler's, as the SDK's jobs do:
/// clearml-server's `tasks.clone` takes the tags it is given *instead of* the base's, and a
/// pipeline controller cloned without its `pipeline` system tag is not a pipeline run in
/// ClearML's web app.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseTask {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
}

/// One ClearML call to make. Each names the answers it expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `tasks.get_all` with `system_tags: [tag]`, oldest first (`order_by: ["created", "id"]`):
    /// [`Answer::Clones`].
    FindClones { tag: String },
    /// `queues.get_all` by exact name: [`Answer::Id`] or [`Answer::Missing`].
    FindQueue { name: String },
    /// `queues.get_by_id` (the task's queue may be an id): [`Answer::Id`] or [`Answer::Missing`].
    QueueById { id: String },
    /// `projects.get_all` by exact name: [`Answer::Id`] or [`Answer::Missing`].
    FindProject { name: String },
    /// `projects.create`: [`Answer::Id`]; [`Answer::Missing`] if it exists after all (made
    /// meanwhile), which looks it up again.
    CreateProject { name: String },
    /// `tasks.get_all` of the base task by id: [`Answer::Base`] or [`Answer::Missing`].
    ReadBaseTask { task_id: String },
    /// `tasks.clone`: [`Answer::Id`], or [`Answer::Missing`] when the base task is gone.
    Clone(CloneRequest),
    /// `tasks.delete` of a losing clone (never enqueued): [`Answer::Done`] ([`Answer::Missing`]
    /// counts as done).
    DeleteClone { task_id: String },
    /// `tasks.edit_hyper_params`: [`Answer::Done`].
    SetParameters {
        task_id: String,
        parameters: Vec<Parameter>,
    },
    /// `tasks.enqueue`: [`Answer::Done`], or [`Answer::Missing`] when the queue id is stale.
    Enqueue {
        task_id: String,
        queue_id: String,
        /// For the status message.
        slot: Instant,
    },
}

/// What `tasks.clone` is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloneRequest {
    pub base_task_id: String,
    pub name: String,
    pub comment: String,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    pub project_id: Option<String>,
}

/// One hyperparameter (`section/name` = value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    pub section: String,
    pub name: String,
    pub value: String,
}

/// A clone of the slot as `tasks.get_all` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloneSeen {
    pub id: String,
    pub status: TaskStatus,
    pub name: String,
    pub project_id: Option<String>,
}

/// What ClearML answered to a [`Call`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The slot's clones, oldest first.
    Clones(Vec<CloneSeen>),
    /// The id found or made.
    Id(String),
    /// The base task's name and tags.
    Base(BaseTask),
    /// Acknowledged.
    Done,
    /// The call's object does not exist (no such queue, project, base task; a stale id).
    Missing,
    /// Any other failure: `transient` for 5xx, timeouts, cut connections, rate limits and a
    /// spent call budget; permanent for what retrying cannot fix (4xx: permissions, validation).
    Failed { message: String, transient: bool },
}

/// What an attempt learnt that later attempts may reuse (or must forget).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Learned {
    Queue {
        name: String,
        id: String,
    },
    Project {
        name: String,
        id: String,
    },
    Base {
        task_id: String,
        base: BaseTask,
    },
    /// A cached queue id ClearML no longer knows.
    ForgetQueue {
        name: String,
    },
    /// A cached project id ClearML no longer knows.
    ForgetProject {
        name: String,
    },
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The slot's clone is enqueued (by this attempt, or found enqueued by an earlier one).
    Launched {
        task_id: String,
        name: String,
        project_id: Option<String>,
        /// `Queued` when this attempt enqueued it; what ClearML listed when it found it so.
        status: TaskStatus,
        /// The clone was made by an earlier attempt.
        reused: bool,
    },
    /// Nothing is enqueued. `permanent`: retrying cannot help (the message says what to fix);
    /// otherwise retry later, in recovery mode.
    Failed { message: String, permanent: bool },
}

/// Where the next step of [`LaunchAttempt`] stands.
#[derive(Debug)]
pub enum Next<'a> {
    Call(&'a Call),
    Finished(&'a Outcome),
}

#[derive(Clone, Debug)]
enum Stage {
    /// Recovery: what earlier attempts left.
    PreCheck,
    Queue,
    QueueById,
    Project,
    CreateProject,
    BaseName,
    Cloning,
    /// Listing after our clone `mine` was made.
    PostCheck {
        mine: String,
    },
    /// Deleting `left` (in order), then going on with `then`.
    Deleting {
        left: Vec<String>,
        then: Box<Stage>,
    },
    Parameters {
        winner: CloneSeen,
        reused: bool,
    },
    Enqueueing {
        winner: CloneSeen,
        reused: bool,
    },
    Finished,
}

/// One attempt at launching one slot. See the module docs for the protocol.
#[derive(Clone, Debug)]
pub struct LaunchAttempt {
    launch: Launch,
    instance_name: String,
    known: Known,
    stage: Stage,
    call: Option<Call>,
    outcome: Option<Outcome>,
    learned: Vec<Learned>,
    /// Our own clone of this attempt, not enqueued (deleted if the attempt fails for good).
    made: Option<String>,
    /// How the attempt ends once the deletions under way are done.
    after_deletes: Option<Outcome>,
    /// `projects.create` said the project exists and it was looked up again.
    project_looked_again: bool,
    /// The enqueue waiting for the queue's id: a retry that found its clone goes straight to
    /// enqueueing it, and its cached queue id may be gone (forgotten as stale, or expired).
    /// Enqueueing without one would put the run on ClearML's default queue.
    after_queue: Option<Stage>,
    /// A clean-up ([`LaunchAttempt::clean_up`]): never clones or enqueues.
    cleaning: bool,
    calls: u32,
}

impl LaunchAttempt {
    /// Starts an attempt at `launch` (a retry, `launch.retry > 0`, starts in recovery mode:
    /// by listing what earlier attempts left).
    pub fn start(launch: &Launch, instance_name: &str, known: Known) -> LaunchAttempt {
        let mut a = LaunchAttempt {
            launch: launch.clone(),
            instance_name: instance_name.to_string(),
            known,
            stage: Stage::Finished,
            call: None,
            outcome: None,
            learned: Vec::new(),
            made: None,
            after_deletes: None,
            project_looked_again: false,
            after_queue: None,
            cleaning: false,
            calls: 0,
        };
        if launch.retry > 0 {
            a.enter(Stage::PreCheck);
        } else {
            a.resolve();
        }
        a
    }

    /// The clean-up of a slot given up (its retries ran out of the catch-up window, or its
    /// launch's outcome never came): lists the slot's clones; one already enqueued is the slot's
    /// run after all ([`Outcome::Launched`]); every clone not enqueued is deleted, so nothing is
    /// left behind; with none enqueued the outcome is a permanent failure.
    pub fn clean_up(launch: &Launch, instance_name: &str) -> LaunchAttempt {
        let mut a = LaunchAttempt::start(
            &Launch {
                retry: launch.retry.max(1),
                ..launch.clone()
            },
            instance_name,
            Known::default(),
        );
        a.cleaning = true;
        a
    }

    /// The call to make, or how the attempt ended.
    pub fn next(&self) -> Next<'_> {
        match (&self.call, &self.outcome) {
            (_, Some(o)) => Next::Finished(o),
            (Some(c), None) => Next::Call(c),
            (None, None) => unreachable!("an attempt always has a call or an outcome"),
        }
    }

    /// The outcome, once finished.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Ids looked up (and stale ones to forget), for the runtime's cache.
    pub fn learned(&self) -> &[Learned] {
        &self.learned
    }

    /// Calls answered so far.
    pub fn calls(&self) -> u32 {
        self.calls
    }

    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    /// Ends the attempt before its next call, as a transient failure: the runtime must stop
    /// calling once its claim's lease could run out before a call's answer arrives (see
    /// [`crate::Claim::calls_allowed_at`]), or a retry might race with that call.
    pub fn stop(&mut self, why: &str) {
        if self.outcome.is_none() {
            let message = format!("stopped before {}: {why}", self.what());
            self.fail(message, false);
        }
    }

    /// Ends the attempt before its next call, for good: what it is launching is no longer
    /// wanted (its instance was deleted). A clone of its own not enqueued is deleted first.
    pub fn abandon(&mut self, why: &str) {
        if self.outcome.is_none() {
            let message = format!("stopped before {}: {why}", self.what());
            self.fail(message, true);
        }
    }

    /// Feeds ClearML's answer to the current call.
    pub fn answer(&mut self, answer: Answer) {
        if self.outcome.is_some() {
            return;
        }
        self.calls += 1;
        if let Answer::Failed { message, transient } = &answer {
            let message = format!("{}: {message}", self.what());
            return self.fail(message, !transient);
        }
        let stage = std::mem::replace(&mut self.stage, Stage::Finished);
        match (stage, answer) {
            (Stage::PreCheck, Answer::Clones(clones)) if self.cleaning => self.clean(clones),
            (Stage::PreCheck, Answer::Clones(clones)) => match clones.first() {
                None => self.resolve(),
                Some(_) => self.decide(clones, None),
            },
            (Stage::Queue | Stage::QueueById, Answer::Id(id)) => {
                self.learn_queue(id);
                match self.after_queue.take() {
                    Some(enqueue) => self.enter(enqueue),
                    None => self.resolve(),
                }
            }
            (Stage::Queue, Answer::Missing) => self.enter(Stage::QueueById),
            (Stage::QueueById, Answer::Missing) => {
                let queue = self.launch.queue.clone();
                let clone = if self.after_queue.is_some() {
                    "its clone is deleted"
                } else {
                    "no clone was made"
                };
                self.fail(
                    format!(
                        "queue '{queue}' was not found or is inaccessible in ClearML; create it or \
                         change the task's queue ({clone})"
                    ),
                    true,
                );
            }
            (Stage::Project, Answer::Id(id)) => {
                self.learn_project(id);
                self.resolve();
            }
            (Stage::Project, Answer::Missing) => self.enter(Stage::CreateProject),
            (Stage::CreateProject, Answer::Id(id)) => {
                self.learn_project(id);
                self.resolve();
            }
            // Made meanwhile by someone else: look it up again, once.
            (Stage::CreateProject, Answer::Missing) if !self.project_looked_again => {
                self.project_looked_again = true;
                self.enter(Stage::Project)
            }
            (Stage::CreateProject, Answer::Missing) => {
                let name = self.launch.destination_project.clone().unwrap_or_default();
                self.fail(
                    format!(
                        "project '{name}' exists but these credentials cannot see it; give them \
                         access or change the task's destination_project"
                    ),
                    true,
                );
            }
            (Stage::BaseName, Answer::Base(base)) => {
                self.learned.push(Learned::Base {
                    task_id: self.launch.base_task_id.clone(),
                    base: base.clone(),
                });
                self.known.base = Some(base);
                self.resolve();
            }
            (Stage::BaseName | Stage::Cloning, Answer::Missing) => {
                let base = self.launch.base_task_id.clone();
                self.fail(
                    format!(
                        "base task {base} was not found in ClearML; change the task's \
                         base_task_id to an existing task (no clone was made)"
                    ),
                    true,
                );
            }
            (Stage::Cloning, Answer::Id(id)) => {
                self.made = Some(id.clone());
                self.enter(Stage::PostCheck { mine: id });
            }
            (Stage::PostCheck { mine }, Answer::Clones(clones)) => {
                if clones.iter().any(|c| c.id == mine) {
                    self.decide(clones, Some(mine));
                } else {
                    self.fail(
                        format!("the clone {mine} is not listed by its tag yet; will look again"),
                        false,
                    );
                }
            }
            (Stage::Deleting { mut left, then }, Answer::Done | Answer::Missing) => {
                let deleted = left.remove(0);
                if self.made.as_deref() == Some(deleted.as_str()) {
                    self.made = None;
                }
                if left.is_empty() {
                    self.continue_with(*then);
                } else {
                    self.enter(Stage::Deleting { left, then });
                }
            }
            (Stage::Parameters { winner, reused }, Answer::Done) => {
                self.enter(Stage::Enqueueing { winner, reused })
            }
            (Stage::Enqueueing { winner, reused }, Answer::Done) => {
                self.made = None;
                self.finish(Outcome::Launched {
                    task_id: winner.id,
                    name: winner.name,
                    project_id: winner.project_id,
                    status: TaskStatus::Queued,
                    reused,
                });
            }
            (Stage::Enqueueing { .. }, Answer::Missing) => {
                // The cached queue id is stale: look the queue up again next time.
                let name = self.launch.queue.clone();
                self.learned
                    .push(Learned::ForgetQueue { name: name.clone() });
                self.fail(
                    format!("queue '{name}' no longer has the id this scheduler knew; will look it up again"),
                    false,
                );
            }
            (Stage::Parameters { winner, .. }, Answer::Missing) => self.fail(
                format!("the clone {} disappeared before it was enqueued", winner.id),
                false,
            ),
            (stage, answer) => {
                let what = format!("{stage:?}");
                self.fail(
                    format!("unexpected answer {answer:?} while in {what}"),
                    false,
                );
            }
        }
    }

    /// Looks up what is not known yet, then clones.
    fn resolve(&mut self) {
        if self.known.queue_id.is_none() {
            return self.enter(Stage::Queue);
        }
        if self.launch.destination_project.is_some() && self.known.project_id.is_none() {
            return self.enter(Stage::Project);
        }
        if self.known.base.is_none() {
            return self.enter(Stage::BaseName);
        }
        self.enter(Stage::Cloning);
    }

    /// Given the slot's clones (oldest first, at least one): delete every clone but the winner
    /// that is not enqueued yet, then enqueue the winner unless it already is. `mine` is the
    /// clone this attempt made (None in recovery's first look).
    fn decide(&mut self, clones: Vec<CloneSeen>, mine: Option<String>) {
        // The oldest clone already enqueued wins, else the oldest: once a clone is enqueued it
        // stays the winner, even if an older one shows up (equal creation times ordered by id).
        let winner = clones
            .iter()
            .find(|c| c.status != TaskStatus::Created)
            .unwrap_or(&clones[0])
            .clone();
        let losers: Vec<String> = clones
            .iter()
            .filter(|c| c.id != winner.id && c.status == TaskStatus::Created)
            .map(|c| c.id.clone())
            .collect();
        let reused = mine.as_deref() != Some(winner.id.as_str());
        let then = if winner.status != TaskStatus::Created {
            // Enqueued by an earlier attempt (its answer lost, or its outcome not recorded).
            self.after_deletes = Some(Outcome::Launched {
                task_id: winner.id,
                name: winner.name,
                project_id: winner.project_id,
                status: winner.status,
                reused: true,
            });
            Stage::Finished
        } else if mine.is_some() && reused {
            // An older clone made by another attempt is not enqueued yet: never enqueue what
            // another attempt made while it may still be working on it. Ours (a loser) is
            // deleted; a retry (recovery, once that attempt's claim is released) takes it.
            self.after_deletes = Some(Outcome::Failed {
                message: format!(
                    "an earlier attempt's clone {} is not enqueued yet; will retry",
                    winner.id
                ),
                permanent: false,
            });
            Stage::Finished
        } else {
            self.after_clone(winner, reused)
        };
        if losers.is_empty() {
            self.continue_with(then);
        } else {
            self.enter(Stage::Deleting {
                left: losers,
                then: Box::new(then),
            });
        }
    }

    /// A clean-up's decision: keep an enqueued clone as the run, delete the others not enqueued.
    fn clean(&mut self, clones: Vec<CloneSeen>) {
        let enqueued = clones.iter().find(|c| c.status != TaskStatus::Created);
        self.after_deletes = Some(match enqueued {
            Some(w) => Outcome::Launched {
                task_id: w.id.clone(),
                name: w.name.clone(),
                project_id: w.project_id.clone(),
                status: w.status,
                reused: true,
            },
            None => Outcome::Failed {
                message: "given up".into(),
                permanent: true,
            },
        });
        let left: Vec<String> = clones
            .iter()
            .filter(|c| c.status == TaskStatus::Created)
            .map(|c| c.id.clone())
            .collect();
        if left.is_empty() {
            self.continue_with(Stage::Finished);
        } else {
            self.enter(Stage::Deleting {
                left,
                then: Box::new(Stage::Finished),
            });
        }
    }

    fn after_clone(&self, winner: CloneSeen, reused: bool) -> Stage {
        if self.launch.task_parameters.is_empty() {
            Stage::Enqueueing { winner, reused }
        } else {
            Stage::Parameters { winner, reused }
        }
    }

    fn continue_with(&mut self, stage: Stage) {
        match stage {
            Stage::Finished => {
                let o = self
                    .after_deletes
                    .take()
                    .expect("a stage that finishes after deleting has its outcome");
                self.finish(o);
            }
            s => self.enter(s),
        }
    }

    fn learn_queue(&mut self, id: String) {
        self.learned.push(Learned::Queue {
            name: self.launch.queue.clone(),
            id: id.clone(),
        });
        self.known.queue_id = Some(id);
    }

    fn learn_project(&mut self, id: String) {
        let name = self.launch.destination_project.clone().unwrap_or_default();
        self.learned.push(Learned::Project {
            name,
            id: id.clone(),
        });
        self.known.project_id = Some(id);
    }

    fn enter(&mut self, stage: Stage) {
        if matches!(stage, Stage::Enqueueing { .. }) && self.known.queue_id.is_none() {
            self.after_queue = Some(stage);
            return self.enter(Stage::Queue);
        }
        let l = &self.launch;
        self.call = Some(match &stage {
            Stage::PreCheck | Stage::PostCheck { .. } => Call::FindClones { tag: l.tag.clone() },
            Stage::Queue => Call::FindQueue {
                name: l.queue.clone(),
            },
            Stage::QueueById => Call::QueueById {
                id: l.queue.clone(),
            },
            Stage::Project => Call::FindProject {
                name: l.destination_project.clone().unwrap_or_default(),
            },
            Stage::CreateProject => Call::CreateProject {
                name: l.destination_project.clone().unwrap_or_default(),
            },
            Stage::BaseName => Call::ReadBaseTask {
                task_id: l.base_task_id.clone(),
            },
            Stage::Cloning => Call::Clone(self.clone_request()),
            Stage::Deleting { left, .. } => Call::DeleteClone {
                task_id: left[0].clone(),
            },
            Stage::Parameters { winner, .. } => Call::SetParameters {
                task_id: winner.id.clone(),
                parameters: parameters(&l.task_parameters),
            },
            Stage::Enqueueing { winner, .. } => Call::Enqueue {
                task_id: winner.id.clone(),
                // Known: `enter` looks the queue up first when it is not.
                queue_id: self.known.queue_id.clone().unwrap_or_default(),
                slot: l.slot.fire,
            },
            Stage::Finished => unreachable!("finishing goes through finish()"),
        });
        self.stage = stage;
    }

    fn clone_request(&self) -> CloneRequest {
        let l = &self.launch;
        let base = self.known.base.clone().unwrap_or_else(|| BaseTask {
            name: l.base_task_id.clone(),
            ..BaseTask::default()
        });
        CloneRequest {
            base_task_id: l.base_task_id.clone(),
            name: clone_name(&base.name, l.slot.fire),
            comment: format!(
                "Scheduled by ClearML Task Scheduler instance \"{}\", item {}, slot {}",
                self.instance_name, l.slot.item, l.slot.fire
            ),
            tags: with_base_tags(
                &base.tags,
                [SCHEDULED_TAG.into(), format!("{ITEM_TAG}{}", l.slot.item)],
                |t| !t.starts_with(ITEM_TAG),
            ),
            // As clearml-server cleans the base's own when it copies them (a clone is neither a
            // development task nor archived); a base that is itself one of our clones does not
            // pass on its slot's tags, which would make this clone one of that slot's.
            system_tags: with_base_tags(
                &base.system_tags,
                [l.tag.clone(), instance_tag(&l.slot.instance)],
                |t| {
                    !matches!(t, "development" | "archived")
                        && !t.starts_with(SLOT_TAG_PREFIX)
                        && !t.starts_with(INSTANCE_TAG)
                },
            ),
            project_id: l
                .destination_project
                .as_ref()
                .and(self.known.project_id.clone()),
        }
    }

    /// Ends the attempt. A permanent failure while a clone not enqueued is the attempt's (made by
    /// it, or an earlier attempt's it took over) deletes that clone first, so nothing is left
    /// behind un-enqueued. A failure while deleting ends the attempt as transient, whatever
    /// failed before: a clone is still there, and only a retry or the give-up's clean-up
    /// (which lists the slot's clones again) will delete it.
    fn fail(&mut self, message: String, permanent: bool) {
        let deleting = matches!(self.call, Some(Call::DeleteClone { .. }));
        if self.cleaning || deleting {
            let message = match self.after_deletes.take() {
                Some(Outcome::Failed {
                    message: standing,
                    permanent: true,
                }) if !self.cleaning => {
                    format!("{standing}; then {message}: the clone is left for a retry to delete")
                }
                Some(Outcome::Failed {
                    message: standing,
                    permanent: false,
                }) => standing,
                _ => message,
            };
            return self.finish(Outcome::Failed {
                message,
                permanent: false,
            });
        }
        let outcome = Outcome::Failed { message, permanent };
        // A transient failure keeps the clone: the retry finds it by its tag and carries on
        // (a slot is cloned once). If no retry comes, the give-up cleans up
        // ([`LaunchAttempt::clean_up`]).
        let working = match (&self.stage, &self.after_queue) {
            (Stage::Parameters { winner, .. } | Stage::Enqueueing { winner, .. }, _)
            | (_, Some(Stage::Enqueueing { winner, .. })) => Some(winner.id.clone()),
            _ => None,
        };
        match self.made.clone().or(working) {
            Some(clone) if permanent => {
                self.after_deletes = Some(outcome);
                self.enter(Stage::Deleting {
                    left: vec![clone],
                    then: Box::new(Stage::Finished),
                });
            }
            _ => self.finish(outcome),
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        self.stage = Stage::Finished;
        self.call = None;
        self.outcome = Some(outcome);
    }

    /// The call in progress, for error messages.
    fn what(&self) -> &'static str {
        match &self.call {
            Some(Call::FindClones { .. }) => "listing the slot's clones",
            Some(Call::FindQueue { .. } | Call::QueueById { .. }) => "looking up the queue",
            Some(Call::FindProject { .. }) => "looking up the destination project",
            Some(Call::CreateProject { .. }) => "creating the destination project",
            Some(Call::ReadBaseTask { .. }) => "reading the base task",
            Some(Call::Clone(_)) => "cloning the base task",
            Some(Call::DeleteClone { .. }) => "deleting a duplicate clone",
            Some(Call::SetParameters { .. }) => "setting the task parameters",
            Some(Call::Enqueue { .. }) => "enqueueing the clone",
            None => "finishing",
        }
    }
}

/// The tag every clone carries, to tell scheduled runs apart in ClearML's web app.
const SCHEDULED_TAG: &str = "scheduled";
/// `scheduler:<item>`: the task (of the configuration) a clone is a run of.
const ITEM_TAG: &str = "scheduler:";
const INSTANCE_TAG: &str = "sched-instance:";
/// What every slot's own system tag starts with ([`SlotKey::tag`](crate::SlotKey::tag)).
const SLOT_TAG_PREFIX: &str = "sched-v1:";

/// The system tag every clone of one instance carries, to list them all.
pub fn instance_tag(instance_id: &str) -> String {
    format!("{INSTANCE_TAG}{instance_id}")
}

/// The base's tags that `keep` keeps, then `ours`, each once.
fn with_base_tags<const N: usize>(
    base: &[String],
    ours: [String; N],
    keep: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut tags: Vec<String> = base
        .iter()
        .filter(|t| keep(t))
        .filter(|t| !ours.contains(t))
        .cloned()
        .collect();
    for t in ours {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    tags
}

/// `train model @ 2026-11-26 06:20 UTC`: a clone's name.
pub fn clone_name(base_name: &str, fire: Instant) -> String {
    let (y, m, d, h, mi, _) = fire.to_utc();
    format!("{base_name} @ {y:04}-{m:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// `Args/batch` → section `Args`, name `batch`; a name without a section goes to `Args`.
fn parameters(params: &BTreeMap<String, String>) -> Vec<Parameter> {
    params
        .iter()
        .map(|(k, v)| {
            let (section, name) = k.split_once('/').unwrap_or(("Args", k));
            Parameter {
                section: section.to_string(),
                name: name.to_string(),
                value: v.clone(),
            }
        })
        .collect()
}

/// Reports an attempt's outcome into the instance's state, if its `claim` still holds the slot
/// (a released claim's late outcome is ignored: the retry owns the slot now, even a retry by the
/// same owner), or if it
/// launched a slot no longer pending at all: its task removed from the configuration
/// meanwhile, or the slot given up while the attempt was still out (its claim released as
/// stale, its window passed, and its clean-up listed the slot's clones before this one
/// landed; the planner never gives up a claimed slot itself). A run that started is a run, watched until it ends.
/// Returns whether it was recorded.
///
/// Launched: the slot becomes an open run. A transient failure: retried after a backoff. A
/// permanent one: the slot is consumed.
pub fn settle(
    state: &mut crate::InstanceState,
    slot: &crate::SlotKey,
    claim: &crate::Claim,
    outcome: &Outcome,
    at: Instant,
) -> bool {
    let held = state.holds(slot, claim);
    // A slot no longer pending (its task removed, or the slot given up) has no claim left to
    // hold; a run its launch started is still a run. One still pending under another owner's
    // claim is that owner's: it finds this clone by its tag.
    let pending = state
        .tasks
        .get(&slot.item)
        .is_some_and(|ts| ts.pending.iter().any(|p| p.is(slot)));
    let launched_unowned = !pending
        && matches!(outcome, Outcome::Launched { task_id, .. }
            if !state.runs.iter().any(|r| &r.task_id == task_id));
    if !held && !launched_unowned {
        return false;
    }
    match outcome {
        Outcome::Launched {
            task_id, status, ..
        } => {
            state.record_launch(slot, task_id.clone(), at);
            // Found running (a retry that took over an enqueued clone): so it is. Found ended
            // already (the run finished before the retry came): it stays open until the next
            // status poll ends it as every run ends: told, rerun if its task says so, with
            // ClearML's finish time. Recorded as ended here, it would be none of these.
            if *status == TaskStatus::InProgress {
                state.record_status(task_id, *status);
            }
        }
        Outcome::Failed {
            permanent: true, ..
        } => state.record_launch_rejected(slot),
        Outcome::Failed { message, .. } => state.record_launch_failed(slot, message.clone()),
    }
    true
}
