//! Exhaustive model checks of the launch protocol (`scheduler_core::launch`), against a model of
//! ClearML that applies each call atomically (as clearml-server's MongoDB does per document).
//!
//! `racing_ticks`: the worker's whole path for one due slot, as the Durable Object runs it:
//! plan + claim (one atomic step on the stored state), the attempt's calls one by one, settle
//! (atomic). Every interleaving of two ticks racing for the same minute, with every call able to
//! fail before ClearML acts or to act and lose its answer, a crash of the runtime between any
//! two steps (the next incarnation's tick comes before or after the claim's lease runs out),
//! then quiet ticks until the slot is settled. Checked at every state: ClearML never enqueued
//! two clones of the slot, or one clone twice, and nothing deleted a clone that was enqueued.
//! Checked at the end: exactly one clone enqueued, no clone left behind un-enqueued, and the
//! state knows the enqueued clone as the slot's run.
//!
//! `racing_attempts_without_claim`: two first attempts of the same slot racing with no claim at
//! all (two deployments sharing one instance's state, say): with every interleaving and lost
//! answers, ClearML still never holds two enqueued clones of the slot, and without faults the
//! slot is launched once with nothing left behind.

use std::collections::BTreeSet;
use std::rc::Rc;

use scheduler_core::launch::{Answer, BaseTask, Call, Known, LaunchAttempt, Next, Outcome};
use scheduler_core::{
    launch::settle, launch_of, parse_config, plan_rerun, plan_tick, Claim, InstanceConfig,
    InstanceState, Instant, SlotKey, TaskStatus,
};

const LEASE_MS: i64 = 200_000;

fn at(h: u32, mi: u32) -> Instant {
    Instant::from_utc(2026, 3, 2, h, mi).unwrap()
}

fn config(params: bool) -> InstanceConfig {
    config_with(params, "")
}

/// The model's one task, with `extra` fields (`, "retry": {...}`).
fn config_with(params: bool, extra: &str) -> InstanceConfig {
    let params = if params {
        r#", "task_parameters": {"Args/batch": "12"}"#
    } else {
        ""
    };
    let json = format!(
        r#"{{"format": "clearml-task-scheduler/v1", "name": "model", "scheduled_tasks": [
            {{"id": "a", "base_task_id": "base", "queue": "q", "recurrence": "daily",
              "times": ["06:20"], "destination_project": "Prj"{params}{extra}}}]}}"#
    );
    parse_config(&json, at(0, 0)).unwrap()
}

/// What happened so far, shown when a check fails. Persistent, so cloning a world is cheap.
#[derive(Clone, Debug, Default)]
struct Trace(Option<Rc<(String, Trace)>>);

impl Trace {
    fn push(&mut self, line: String) {
        *self = Trace(Some(Rc::new((line, self.clone()))));
    }

    fn join(&self, sep: &str) -> String {
        let mut lines = vec![];
        let mut t = self;
        while let Some(node) = &t.0 {
            lines.push(node.0.as_str());
            t = &node.1;
        }
        lines.reverse();
        lines.join(sep)
    }
}

/// A call in a few words.
fn short(call: &Call) -> String {
    match call {
        Call::Clone(_) => "Clone".into(),
        Call::FindClones { .. } => "FindClones".into(),
        Call::DeleteClone { task_id } => format!("Delete {task_id}"),
        Call::SetParameters { task_id, .. } => format!("SetParameters {task_id}"),
        Call::Enqueue { task_id, .. } => format!("Enqueue {task_id}"),
        other => format!("{other:?}"),
    }
}

// ---- ClearML, modelled -------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct Task {
    id: String,
    tag: String,
    status: TaskStatus,
    deleted: bool,
    params_set: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ClearMl {
    tasks: Vec<Task>,
    /// Task ids of successful enqueues, in order.
    enqueued: Vec<String>,
    /// Tasks deleted while enqueued (must stay empty).
    deleted_enqueued: Vec<String>,
    /// No queue or base task by that name/id (for the permanent-failure cases).
    no_queue: bool,
    no_base_task: bool,
    /// Parameters are rejected (4xx).
    reject_parameters: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// The call never reached ClearML.
    Before,
    /// ClearML acted; the answer was lost (a timeout, a cut connection).
    After,
}

impl ClearMl {
    fn call(&mut self, call: &Call, fault: Fault) -> Answer {
        let lost = || Answer::Failed {
            message: "timed out".into(),
            transient: true,
        };
        if fault == Fault::Before {
            return lost();
        }
        let answer = self.apply(call);
        if fault == Fault::After {
            lost()
        } else {
            answer
        }
    }

    fn apply(&mut self, call: &Call) -> Answer {
        match call {
            Call::FindClones { tag } => Answer::Clones(
                self.tasks
                    .iter()
                    .filter(|t| &t.tag == tag && !t.deleted)
                    .map(|t| scheduler_core::launch::CloneSeen {
                        id: t.id.clone(),
                        status: t.status,
                        name: format!("clone {}", t.id),
                        project_id: Some("p1".into()),
                    })
                    .collect(),
            ),
            Call::FindQueue { .. } | Call::QueueById { .. } if self.no_queue => Answer::Missing,
            Call::ReadBaseTask { .. } | Call::Clone(_) if self.no_base_task => Answer::Missing,
            Call::SetParameters { .. } if self.reject_parameters => Answer::Failed {
                message: "400/12 validation error".into(),
                transient: false,
            },
            Call::FindQueue { .. } => Answer::Id("q1".into()),
            Call::QueueById { .. } => Answer::Missing,
            Call::FindProject { .. } | Call::CreateProject { .. } => Answer::Id("p1".into()),
            Call::ReadBaseTask { .. } => Answer::Base(BaseTask {
                name: "base".into(),
                ..BaseTask::default()
            }),
            Call::Clone(req) => {
                let id = format!("t{}", self.tasks.len() + 1);
                self.tasks.push(Task {
                    id: id.clone(),
                    tag: req.system_tags[0].clone(),
                    status: TaskStatus::Created,
                    deleted: false,
                    params_set: false,
                });
                Answer::Id(id)
            }
            Call::DeleteClone { task_id } => match self.live(task_id) {
                None => Answer::Missing,
                Some(t) => {
                    if t.status != TaskStatus::Created {
                        let id = t.id.clone();
                        self.deleted_enqueued.push(id);
                    }
                    self.live(task_id).unwrap().deleted = true;
                    Answer::Done
                }
            },
            Call::SetParameters { task_id, .. } => match self.live(task_id) {
                None => Answer::Failed {
                    message: "invalid task id".into(),
                    transient: true,
                },
                Some(t) if t.status != TaskStatus::Created => Answer::Failed {
                    message: "invalid task status".into(),
                    transient: false,
                },
                Some(t) => {
                    t.params_set = true;
                    Answer::Done
                }
            },
            // clearml-server puts a task enqueued with no queue id on its default queue.
            Call::Enqueue { queue_id, .. } if queue_id != "q1" => {
                panic!("enqueued on queue {queue_id:?}, not the task's queue q1")
            }
            Call::Enqueue { task_id, .. } => match self.live(task_id) {
                // clearml-server allows queued -> queued: a second enqueue is a second run's
                // worth of queue entry, which the checks below count as a violation.
                None => Answer::Failed {
                    message: "invalid task id".into(),
                    transient: true,
                },
                Some(t) => {
                    t.status = TaskStatus::Queued;
                    self.enqueued.push(task_id.clone());
                    Answer::Done
                }
            },
        }
    }

    fn live(&mut self, id: &str) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.id == id && !t.deleted)
    }

    /// Safety, at every state.
    fn check_safe(&self, trace: &Trace) {
        let distinct: BTreeSet<&String> = self.enqueued.iter().collect();
        assert!(
            self.enqueued.len() <= 1,
            "enqueued more than once: {:?}\ntrace:\n{}",
            self.enqueued,
            trace.join("\n")
        );
        assert!(distinct.len() <= 1);
        assert!(
            self.deleted_enqueued.is_empty(),
            "deleted an enqueued clone: {:?}\ntrace:\n{}",
            self.deleted_enqueued,
            trace.join("\n")
        );
    }

    fn orphans(&self) -> Vec<&Task> {
        self.tasks
            .iter()
            .filter(|t| !t.deleted && t.status == TaskStatus::Created)
            .collect()
    }
}

// ---- The runtime, modelled ----------------------------------------------------------------

#[derive(Clone, Debug)]
enum Phase {
    /// Not planned yet.
    Start,
    /// Running an attempt.
    /// Running an attempt, under the claim it was given.
    Calling(Box<LaunchAttempt>, SlotKey, Claim),
    Done,
}

#[derive(Clone, Debug)]
struct Tick {
    incarnation: u32,
    now: Instant,
    phase: Phase,
}

#[derive(Clone, Debug)]
struct World {
    config: Rc<InstanceConfig>,
    known: Known,
    state: InstanceState,
    clearml: ClearMl,
    incarnation: u32,
    wall_ms: i64,
    ticks: Vec<Tick>,
    faults_left: u32,
    crashes_left: u32,
    /// Ticks of later minutes that may still start (while earlier ones are running).
    later_ticks: u32,
    /// Calls a dead incarnation had in flight: each lands (or is lost) at some point before the
    /// claim's lease runs out.
    zombies: Vec<Call>,
    /// Crashes whose lease has not run out yet (it can once no call is in flight).
    leases_to_pass: u32,
    trace: Trace,
}

fn owner(incarnation: u32) -> String {
    format!("incarnation-{incarnation}")
}

impl World {
    fn new(params: bool, known: Known, faults: u32, crashes: u32, later_ticks: u32) -> World {
        let config = config(params);
        let mut state = InstanceState::default();
        state.on_config_saved(&config, at(0, 0));
        World {
            config: Rc::new(config),
            known,
            state,
            clearml: ClearMl::default(),
            incarnation: 1,
            wall_ms: 1_000_000,
            ticks: vec![
                Tick {
                    incarnation: 1,
                    now: at(6, 20),
                    phase: Phase::Start,
                },
                Tick {
                    incarnation: 1,
                    now: at(6, 20),
                    phase: Phase::Start,
                },
            ],
            faults_left: faults,
            crashes_left: crashes,
            later_ticks,
            zombies: vec![],
            leases_to_pass: 0,
            trace: Trace::default(),
        }
    }

    /// The same race, for a rerun: the slot's first run was launched (its clone, tagged as the
    /// first run, is in ClearML) and failed, and its rerun is due now.
    fn rerun(known: Known, faults: u32, crashes: u32) -> World {
        let mut w = World::new(false, known, faults, crashes, 1);
        let config = config_with(false, r#", "retry": {"max": 2, "backoff_minutes": 0}"#);
        let plan = plan_tick("inst", &config, &w.state, at(6, 20));
        let first = plan.launches().next().unwrap().clone();
        w.state = plan.state;
        assert!(w.state.claim(&first.slot, "earlier", 0).is_some());
        w.state.record_launch(&first.slot, "first-run", at(6, 20));
        let ended = w
            .state
            .record_status("first-run", TaskStatus::Failed)
            .unwrap();
        plan_rerun(
            &config,
            &mut w.state,
            &ended,
            TaskStatus::Failed,
            false,
            at(6, 20),
        )
        .unwrap();
        w.clearml.tasks.push(Task {
            id: "first-run".into(),
            tag: first.tag,
            status: TaskStatus::Failed,
            deleted: false,
            params_set: false,
        });
        w.config = Rc::new(config);
        w
    }

    /// One atomic step of tick `i`, with `fault` for a call. Returns false if it cannot move.
    fn step(&mut self, i: usize, fault: Fault) -> bool {
        let tick = self.ticks[i].clone();
        if tick.incarnation != self.incarnation {
            return false;
        }
        let me = owner(tick.incarnation);
        match tick.phase {
            Phase::Done => false,
            Phase::Start => {
                if fault != Fault::None {
                    return false;
                }
                // What the Durable Object does in one synchronous block.
                self.state.release_stale_claims(&me, self.wall_ms, LEASE_MS);
                let plan = plan_tick("inst", &self.config, &self.state, tick.now);
                self.state = plan.state;
                let next = self.state.unclaimed().into_iter().next();
                let phase = match next {
                    None => Phase::Done,
                    Some((item, fire, rerun, attempts)) => {
                        let launch =
                            launch_of("inst", &self.config, &item, fire, rerun, attempts).unwrap();
                        let claim = self.state.claim(&launch.slot, &me, self.wall_ms).unwrap();
                        let slot = launch.slot.clone();
                        let attempt = LaunchAttempt::start(&launch, "model", self.known.clone());
                        Phase::Calling(Box::new(attempt), slot, claim)
                    }
                };
                self.trace.push(format!(
                    "tick {i} ({me}) plans at {}: {}",
                    tick.now,
                    match &phase {
                        Phase::Calling(a, ..) => format!("launch, retry {}", a.launch().retry),
                        _ => "nothing".into(),
                    }
                ));
                self.ticks[i].phase = phase;
                true
            }
            Phase::Calling(mut attempt, slot, claim) => {
                // Its own claim's lease, whoever holds the slot now.
                let lease_left = claim.calls_allowed_at(self.wall_ms, LEASE_MS, 0);
                if matches!(attempt.next(), Next::Call(_)) && !lease_left {
                    if fault != Fault::None {
                        return false;
                    }
                    attempt.stop("the claim's lease is running out");
                    self.trace
                        .push(format!("tick {i} stops: lease running out"));
                    self.ticks[i].phase = Phase::Calling(attempt, slot, claim);
                    return true;
                }
                match attempt.next() {
                    Next::Call(call) => {
                        let call = call.clone();
                        let answer = self.clearml.call(&call, fault);
                        self.trace.push(format!(
                            "tick {i}: {} [{fault:?}] -> {answer:?}",
                            short(&call)
                        ));
                        attempt.answer(answer);
                        self.ticks[i].phase = Phase::Calling(attempt, slot, claim);
                    }
                    Next::Finished(outcome) => {
                        if fault != Fault::None {
                            return false;
                        }
                        let outcome = outcome.clone();
                        let recorded = settle(&mut self.state, &slot, &claim, &outcome, tick.now);
                        self.trace.push(format!(
                            "tick {i} settles {outcome:?} (recorded {recorded})"
                        ));
                        self.ticks[i].phase = Phase::Done;
                    }
                }
                self.clearml.check_safe(&self.trace);
                true
            }
        }
    }

    /// The runtime dies: every tick of this incarnation stops where it is; a call it was making
    /// may still land.
    fn crash(&mut self) {
        for t in &self.ticks {
            if let (true, Phase::Calling(a, _, claim)) =
                (t.incarnation == self.incarnation, &t.phase)
            {
                // Only a call it was still allowed to start can be in flight.
                let allowed = claim.calls_allowed_at(self.wall_ms, LEASE_MS, 0);
                if let (Next::Call(call), true) = (a.next(), allowed) {
                    self.zombies.push(call.clone());
                }
            }
        }
        self.incarnation += 1;
        self.leases_to_pass += 1;
        self.trace
            .push(format!("crash; incarnation {} starts", self.incarnation));
        self.next_tick();
    }

    /// The lease runs out (all calls in flight have landed or been lost): the next tick may
    /// take the dead incarnation's launch over.
    fn lease_passes(&mut self) {
        self.wall_ms += LEASE_MS;
        self.leases_to_pass -= 1;
        self.trace.push("the lease runs out".into());
        self.next_tick();
    }

    fn next_tick(&mut self) {
        let now = self
            .ticks
            .iter()
            .map(|t| t.now)
            .max()
            .unwrap()
            .add_seconds(60);
        self.ticks.push(Tick {
            incarnation: self.incarnation,
            now,
            phase: Phase::Start,
        });
    }

    fn quiet(&self) -> bool {
        self.ticks
            .iter()
            .all(|t| t.incarnation != self.incarnation || matches!(t.phase, Phase::Done))
    }

    /// After the explored prefix: time passes, no more faults, a tick a minute, until the slot
    /// is settled.
    fn settle_down(mut self) -> World {
        for minute in 30..50 {
            self.wall_ms += LEASE_MS;
            let i = self.ticks.len();
            self.ticks.push(Tick {
                incarnation: self.incarnation,
                now: at(6, minute),
                phase: Phase::Start,
            });
            while self.step(i, Fault::None) {}
            if self.state.tasks["a"].pending.is_empty() {
                break;
            }
        }
        self
    }

    fn check_end(&self) {
        let trace = self.trace.join("\n");
        assert_eq!(
            self.clearml.enqueued.len(),
            1,
            "the slot was not launched once\n{trace}"
        );
        let launched = &self.clearml.enqueued[0];
        assert_ne!(launched, "first-run", "a rerun is a new clone\n{trace}");
        assert!(
            self.clearml.orphans().is_empty(),
            "clones left un-enqueued: {:?}\n{trace}",
            self.clearml.orphans()
        );
        assert!(
            self.state.runs.iter().any(|r| &r.task_id == launched),
            "the state does not know the run {launched}\n{trace}"
        );
        assert!(self.state.tasks["a"].pending.is_empty(), "{trace}");
        if !self.config.task("a").unwrap().task_parameters().is_empty() {
            let t = self
                .clearml
                .tasks
                .iter()
                .find(|t| &t.id == launched)
                .unwrap();
            assert!(t.params_set, "enqueued without its parameters\n{trace}");
        }
    }
}

/// Depth-first over every choice: which tick moves, how its call fails, whether the runtime
/// crashes now. Returns the number of complete executions checked.
fn explore(world: World) -> u64 {
    explore_from(world, 0)
}

/// [`explore`] at `depth` moves (an execution that never ends is a failure too).
fn explore_from(world: World, depth: u32) -> u64 {
    assert!(
        depth < 400,
        "an execution that never ends:\n{}",
        world.trace.join("\n")
    );
    let explore = |w: World| explore_from(w, depth + 1);
    let mut executions = 0;
    let mut any = false;
    for i in 0..world.ticks.len() {
        for fault in [Fault::None, Fault::Before, Fault::After] {
            if fault != Fault::None && world.faults_left == 0 {
                continue;
            }
            let mut next = world.clone();
            if fault != Fault::None {
                next.faults_left -= 1;
            }
            if next.step(i, fault) {
                any = true;
                executions += explore(next);
            }
        }
    }
    if world.later_ticks > 0 {
        // The next minute's tick starts, whatever the others are doing.
        let mut next = world.clone();
        next.later_ticks -= 1;
        next.trace.push("the next minute's tick starts".into());
        next.next_tick();
        any = true;
        executions += explore(next);
    }
    for j in 0..world.zombies.len() {
        for fault in [Fault::None, Fault::Before] {
            let mut next = world.clone();
            let call = next.zombies.remove(j);
            let answer = next.clearml.call(&call, fault);
            next.trace.push(format!(
                "a dead incarnation's {} [{fault:?}] -> {answer:?}",
                short(&call)
            ));
            next.clearml.check_safe(&next.trace);
            any = true;
            executions += explore(next);
        }
    }
    if world.crashes_left > 0 && !world.quiet() {
        let mut next = world.clone();
        next.crashes_left -= 1;
        next.crash();
        any = true;
        executions += explore(next);
    }
    if world.leases_to_pass > 0 && world.zombies.is_empty() {
        let mut next = world.clone();
        next.lease_passes();
        any = true;
        executions += explore(next);
    }
    if !any {
        world.settle_down().check_end();
        executions += 1;
    }
    executions
}

fn all_known() -> Known {
    Known {
        queue_id: Some("q1".into()),
        project_id: Some("p1".into()),
        base: Some(BaseTask {
            name: "base".into(),
            ..BaseTask::default()
        }),
    }
}

#[test]
fn racing_ticks_launch_once_with_faults_and_a_crash() {
    let n = explore(World::new(false, all_known(), 2, 1, 1));
    eprintln!("racing ticks, no parameters: {n} executions");
    assert!(n > 30_000, "explored {n}");
}

#[test]
fn racing_ticks_launch_once_with_parameters_and_two_crashes() {
    let n = explore(World::new(true, all_known(), 1, 2, 0));
    eprintln!("racing ticks, parameters, two crashes: {n} executions");
    assert!(n > 3_000, "explored {n}");
}

#[test]
fn racing_ticks_launch_a_rerun_once_beside_the_first_runs_clone() {
    let n = explore(World::rerun(all_known(), 2, 1));
    eprintln!("racing ticks, a rerun: {n} executions");
    assert!(n > 30_000, "explored {n}");
}

#[test]
fn racing_ticks_launch_once_with_lookups_to_make() {
    let n = explore(World::new(true, Known::default(), 1, 1, 0));
    eprintln!("racing ticks, nothing cached: {n} executions");
    assert!(n > 1000, "explored {n}");
}

// ---- Two attempts with no claim -----------------------------------------------------------

fn explore_unclaimed(
    clearml: ClearMl,
    attempts: [Option<LaunchAttempt>; 2],
    faults_left: u32,
    trace: Trace,
) -> u64 {
    let mut executions = 0;
    let mut any = false;
    for i in 0..2 {
        let Some(attempt) = &attempts[i] else {
            continue;
        };
        let Next::Call(call) = attempt.next() else {
            continue;
        };
        for fault in [Fault::None, Fault::Before, Fault::After] {
            if fault != Fault::None && faults_left == 0 {
                continue;
            }
            let mut clearml = clearml.clone();
            let mut attempts = attempts.clone();
            let mut trace = trace.clone();
            let answer = clearml.call(call, fault);
            trace.push(format!(
                "attempt {i}: {} [{fault:?}] -> {answer:?}",
                short(call)
            ));
            clearml.check_safe(&trace);
            attempts[i].as_mut().unwrap().answer(answer);
            any = true;
            let left = faults_left - u32::from(fault != Fault::None);
            executions += explore_unclaimed(clearml, attempts, left, trace);
        }
    }
    if !any {
        executions += 1;
        let outcomes: Vec<&Outcome> = attempts
            .iter()
            .filter_map(|a| a.as_ref().and_then(|a| a.outcome()))
            .collect();
        if faults_left == 2 {
            // No fault: the slot is launched exactly once and nothing is left behind.
            assert_eq!(clearml.enqueued.len(), 1, "{}", trace.join("\n"));
            assert!(clearml.orphans().is_empty(), "{}", trace.join("\n"));
        }
        for o in outcomes {
            if let Outcome::Launched { task_id, .. } = o {
                assert_eq!(
                    Some(task_id),
                    clearml.enqueued.first(),
                    "{}",
                    trace.join("\n")
                );
            }
        }
    }
    executions
}

#[test]
fn racing_attempts_without_claim_never_enqueue_twice() {
    let config = config(true);
    // First attempts only: a retry (recovery) takes over what it finds, which is safe only
    // under the claim (the racing_ticks checks).
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, 0).unwrap();
    let attempts = [
        Some(LaunchAttempt::start(&launch, "model", all_known())),
        Some(LaunchAttempt::start(&launch, "model", all_known())),
    ];
    let n = explore_unclaimed(ClearMl::default(), attempts, 2, Trace::default());
    eprintln!("two unclaimed first attempts: {n} executions");
    assert!(n > 500);
}

// ---- One attempt, alone: what it costs and how it fails ------------------------------------

/// Runs one attempt to its end against `clearml`; returns the outcome and the calls made.
fn run_alone(
    launch_retry: u32,
    params: bool,
    known: Known,
    clearml: &mut ClearMl,
) -> (Outcome, Vec<String>) {
    let config = config(params);
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, launch_retry).unwrap();
    let mut attempt = LaunchAttempt::start(&launch, "model", known);
    let mut calls = vec![];
    loop {
        match attempt.next() {
            Next::Finished(o) => return (o.clone(), calls),
            Next::Call(call) => {
                calls.push(short(call));
                let answer = clearml.call(&call.clone(), Fault::None);
                attempt.answer(answer);
            }
        }
    }
}

#[test]
fn a_launch_in_steady_state_costs_three_calls_four_with_parameters() {
    let (o, calls) = run_alone(0, false, all_known(), &mut ClearMl::default());
    assert!(
        matches!(o, Outcome::Launched { reused: false, .. }),
        "{o:?}"
    );
    assert_eq!(calls, ["Clone", "FindClones", "Enqueue t1"]);
    let (o, calls) = run_alone(0, true, all_known(), &mut ClearMl::default());
    assert!(matches!(o, Outcome::Launched { .. }), "{o:?}");
    assert_eq!(
        calls,
        ["Clone", "FindClones", "SetParameters t1", "Enqueue t1"]
    );
}

#[test]
fn a_first_launch_looks_up_queue_project_and_base_name_once() {
    let config = config(true);
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, 0).unwrap();
    let mut clearml = ClearMl::default();
    let mut attempt = LaunchAttempt::start(&launch, "model", Known::default());
    while let Next::Call(call) = attempt.next() {
        let call = call.clone();
        attempt.answer(clearml.call(&call, Fault::None));
    }
    assert_eq!(attempt.calls(), 7);
    let learned = format!("{:?}", attempt.learned());
    for what in ["Queue", "Project", "Base"] {
        assert!(learned.contains(what), "{learned}");
    }
}

/// A clone keeps the base task's tags and adds the scheduler's; the base's system tags go on
/// but those clearml-server drops from a clone and a base's own scheduler tags (a base that is
/// itself a scheduled clone would otherwise make its clone one of that slot's).
#[test]
fn a_clone_keeps_the_base_tasks_tags_but_not_its_scheduler_tags() {
    let config = config(false);
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, 0).unwrap();
    let known = Known {
        base: Some(BaseTask {
            name: "train @ 2026-01-01 06:20 UTC".into(),
            tags: vec![
                "nightly".into(),
                "scheduled".into(),
                "scheduler:other".into(),
            ],
            system_tags: vec![
                "pipeline".into(),
                "development".into(),
                "archived".into(),
                "sched-v1:0123456789abcdef:29000000".into(),
                "sched-instance:other".into(),
            ],
        }),
        ..all_known()
    };
    let attempt = LaunchAttempt::start(&launch, "model", known);
    let Next::Call(Call::Clone(request)) = attempt.next() else {
        panic!("a launch with everything known clones first");
    };
    assert_eq!(request.tags, ["nightly", "scheduled", "scheduler:a"]);
    assert_eq!(
        request.system_tags,
        [
            "pipeline".to_string(),
            launch.tag.clone(),
            "sched-instance:inst".into()
        ]
    );
}

/// Runs a first attempt with nothing cached against `clearml`, which must fail it for good;
/// returns the message.
fn permanent_failure(clearml: &mut ClearMl) -> String {
    match run_alone(0, false, Known::default(), clearml).0 {
        Outcome::Failed {
            message,
            permanent: true,
        } => message,
        other => panic!("not a permanent failure: {other:?}"),
    }
}

#[test]
fn a_missing_queue_fails_for_good_before_anything_is_cloned() {
    let mut clearml = ClearMl {
        no_queue: true,
        ..ClearMl::default()
    };
    let message = permanent_failure(&mut clearml);
    assert!(message.contains("queue 'q' was not found"), "{message}");
    assert!(message.contains("change the task's queue"), "{message}");
    assert!(clearml.tasks.is_empty());
}

#[test]
fn a_missing_base_task_fails_for_good_and_says_what_to_fix() {
    let message = permanent_failure(&mut ClearMl {
        no_base_task: true,
        ..ClearMl::default()
    });
    assert!(
        message.contains("base task base was not found"),
        "{message}"
    );
    assert!(message.contains("base_task_id"), "{message}");
}

#[test]
fn a_permanent_failure_after_cloning_deletes_the_clone() {
    let mut clearml = ClearMl {
        reject_parameters: true,
        ..ClearMl::default()
    };
    let (o, calls) = run_alone(0, true, all_known(), &mut clearml);
    assert!(
        matches!(
            o,
            Outcome::Failed {
                permanent: true,
                ..
            }
        ),
        "{o:?}"
    );
    assert_eq!(calls.last().map(String::as_str), Some("Delete t1"));
    assert!(clearml.orphans().is_empty());
    assert!(clearml.enqueued.is_empty());
}

#[test]
fn a_retry_finds_the_clone_an_earlier_attempt_enqueued() {
    let mut clearml = ClearMl::default();
    run_alone(0, false, all_known(), &mut clearml);
    let (o, calls) = run_alone(1, false, all_known(), &mut clearml);
    assert!(matches!(o, Outcome::Launched { reused: true, .. }), "{o:?}");
    assert_eq!(calls, ["FindClones"]);
    assert_eq!(clearml.enqueued.len(), 1);
}

/// A retry that finds its clone not enqueued, its queue id no longer cached (forgotten as stale,
/// or expired): it looks the queue up before the enqueue, never enqueues with no queue.
#[test]
fn a_retry_without_the_queue_id_looks_it_up_before_enqueueing_its_clone() {
    let mut clearml = ClearMl::default();
    let config = config(false);
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, 0).unwrap();
    let mut first = LaunchAttempt::start(&launch, "model", all_known());
    // The first attempt clones, then stops before the enqueue (its tick ran out of time).
    while let Next::Call(call) = first.next() {
        if matches!(call, Call::Enqueue { .. }) {
            break;
        }
        let answer = clearml.call(&call.clone(), Fault::None);
        first.answer(answer);
    }
    let no_queue = Known {
        queue_id: None,
        ..all_known()
    };
    let (o, calls) = run_alone(1, false, no_queue, &mut clearml);
    assert!(matches!(o, Outcome::Launched { reused: true, .. }), "{o:?}");
    assert_eq!(calls[0], "FindClones");
    assert!(calls[1].starts_with("FindQueue"), "{calls:?}");
    assert_eq!(calls[2..], ["Enqueue t1"]);
    assert_eq!(clearml.enqueued, ["t1"]);
}

#[test]
fn a_clean_up_deletes_what_a_given_up_slot_left_and_keeps_an_enqueued_clone() {
    let config = config(false);
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, 3).unwrap();
    // An attempt cloned, then failed before the enqueue; the slot is given up.
    let mut clearml = ClearMl::default();
    clearml.apply(&Call::Clone(scheduler_core::launch::CloneRequest {
        base_task_id: "base".into(),
        name: "n".into(),
        comment: String::new(),
        tags: vec![],
        system_tags: vec![launch.tag.clone()],
        project_id: None,
    }));
    let mut cleanup = LaunchAttempt::clean_up(&launch, "model");
    while let Next::Call(call) = cleanup.next() {
        let call = call.clone();
        assert!(
            matches!(call, Call::FindClones { .. } | Call::DeleteClone { .. }),
            "a clean-up never clones or enqueues: {call:?}"
        );
        cleanup.answer(clearml.call(&call, Fault::None));
    }
    assert!(matches!(
        cleanup.outcome(),
        Some(Outcome::Failed {
            permanent: true,
            ..
        })
    ));
    assert!(clearml.orphans().is_empty());
    // One enqueued after all (its answer lost): that is the slot's run.
    let mut clearml = ClearMl::default();
    run_alone(0, false, all_known(), &mut clearml);
    let mut cleanup = LaunchAttempt::clean_up(&launch, "model");
    while let Next::Call(call) = cleanup.next() {
        let call = call.clone();
        cleanup.answer(clearml.call(&call, Fault::None));
    }
    assert!(matches!(
        cleanup.outcome(),
        Some(Outcome::Launched { reused: true, .. })
    ));
    assert_eq!(clearml.enqueued.len(), 1);
}

/// Whether an attempt failed for good (`Some(true)`), for now (`Some(false)`), or not at all.
fn permanence(o: Option<&Outcome>) -> Option<bool> {
    match o {
        Some(Outcome::Failed { permanent, .. }) => Some(*permanent),
        _ => None,
    }
}

/// Runs `attempt` to its end against `clearml`, each call with the fault `fault(call)` picks.
fn run_faulty(
    mut attempt: LaunchAttempt,
    clearml: &mut ClearMl,
    fault: impl Fn(&Call) -> Fault,
) -> (Outcome, Vec<String>) {
    let mut calls = vec![];
    loop {
        match attempt.next() {
            Next::Finished(o) => return (o.clone(), calls),
            Next::Call(call) => {
                let call = call.clone();
                calls.push(short(&call));
                let answer = clearml.call(&call, fault(&call));
                attempt.answer(answer);
            }
        }
    }
}

fn lost_deletes(call: &Call) -> Fault {
    match call {
        Call::DeleteClone { .. } => Fault::Before,
        _ => Fault::None,
    }
}

#[test]
fn a_clean_up_that_could_not_delete_is_asked_again_and_never_taken_as_done() {
    let config = config(false);
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, 3).unwrap();
    let mut clearml = ClearMl::default();
    // An attempt cloned, then its enqueue never reached ClearML; the slot is given up.
    let (o, _) = run_faulty(
        LaunchAttempt::start(&launch, "model", all_known()),
        &mut clearml,
        |c| match c {
            Call::Enqueue { .. } => Fault::Before,
            _ => Fault::None,
        },
    );
    assert_eq!(permanence(Some(&o)), Some(false), "{o:?}");
    assert_eq!(clearml.orphans().len(), 1);
    // Its clean-up cannot delete the clone: not done, to be asked again (not "given up").
    let (o, calls) = run_faulty(
        LaunchAttempt::clean_up(&launch, "model"),
        &mut clearml,
        lost_deletes,
    );
    assert_eq!(calls, ["FindClones", "Delete t1"]);
    assert_eq!(permanence(Some(&o)), Some(false), "{o:?}");
    assert_eq!(clearml.orphans().len(), 1);
    // Nothing there is done at once; a listing ClearML refuses is not "nothing there".
    let mut empty = ClearMl::default();
    let (o, _) = run_faulty(
        LaunchAttempt::clean_up(&launch, "model"),
        &mut empty,
        |_| Fault::None,
    );
    assert_eq!(permanence(Some(&o)), Some(true), "nothing to clean: {o:?}");
    let mut cleanup = LaunchAttempt::clean_up(&launch, "model");
    cleanup.answer(Answer::Failed {
        message: "403 forbidden".into(),
        transient: false,
    });
    assert_eq!(
        permanence(cleanup.outcome()),
        Some(false),
        "{:?}",
        cleanup.outcome()
    );
    // Asked again with ClearML answering: the clone is deleted, and only then is it done.
    let (o, _) = run_faulty(
        LaunchAttempt::clean_up(&launch, "model"),
        &mut clearml,
        |_| Fault::None,
    );
    assert_eq!(permanence(Some(&o)), Some(true), "{o:?}");
    assert!(clearml.orphans().is_empty());
}

#[test]
fn a_permanent_failure_whose_delete_fails_leaves_the_clone_to_a_retry_that_deletes_it() {
    let config = config(true);
    let launch = launch_of("inst", &config, "a", at(6, 20), 0, 0).unwrap();
    let mut clearml = ClearMl {
        reject_parameters: true,
        ..ClearMl::default()
    };
    // The parameters are refused for good, and deleting the clone fails: not permanent, since
    // the slot would be consumed with its clone left behind.
    let (o, calls) = run_faulty(
        LaunchAttempt::start(&launch, "model", all_known()),
        &mut clearml,
        lost_deletes,
    );
    assert_eq!(calls.last().map(String::as_str), Some("Delete t1"));
    let Outcome::Failed {
        permanent: false,
        message,
    } = o
    else {
        panic!("{o:?}")
    };
    assert!(message.contains("validation error"), "{message}");
    assert!(message.contains("left for a retry"), "{message}");
    assert_eq!(clearml.orphans().len(), 1);
    // The retry takes that clone over, is refused again, and deletes it: now for good.
    let retry = launch_of("inst", &config, "a", at(6, 20), 0, 1).unwrap();
    let (o, calls) = run_faulty(
        LaunchAttempt::start(&retry, "model", all_known()),
        &mut clearml,
        |_| Fault::None,
    );
    assert_eq!(permanence(Some(&o)), Some(true), "{o:?}");
    assert_eq!(calls.last().map(String::as_str), Some("Delete t1"));
    assert!(clearml.orphans().is_empty());
    assert!(clearml.enqueued.is_empty());
}

/// The 06:20 slot of task `a`, planned and claimed by "me" (the claim is returned).
fn claimed_0620() -> (InstanceConfig, InstanceState, SlotKey, Claim) {
    let config = config(false);
    let mut state = InstanceState::default();
    state.on_config_saved(&config, at(0, 0));
    state = plan_tick("inst", &config, &state, at(6, 20)).state;
    let slot = SlotKey::new("inst", "a", at(6, 20));
    let me = state.claim(&slot, "me", 0).unwrap();
    (config, state, slot, me)
}

/// An attempt's outcome: launched as ClearML task `t1`.
fn launched_t1() -> Outcome {
    Outcome::Launched {
        task_id: "t1".into(),
        name: "n".into(),
        project_id: None,
        status: TaskStatus::Queued,
        reused: false,
    }
}

/// A task removed from the configuration while its launch was out: the run that launch
/// started is still recorded (watched until it ends); a failure of it is not.
#[test]
fn a_launch_whose_task_was_removed_meanwhile_is_still_a_run() {
    let (_, mut state, slot, me) = claimed_0620();
    let mut other = config_with(false, "").to_stored_value();
    other["scheduled_tasks"][0]["id"] = "b".into();
    let other = scheduler_core::parse_config_value(&other, None).unwrap();
    state.on_config_saved(&other, at(6, 20));
    let failed = Outcome::Failed {
        message: "x".into(),
        permanent: false,
    };
    assert!(!settle(&mut state, &slot, &me, &failed, at(6, 21)));
    let launched = launched_t1();
    assert!(settle(&mut state, &slot, &me, &launched, at(6, 21)));
    assert_eq!(state.runs.len(), 1);
    // Told once: the same outcome again is not a second run.
    assert!(!settle(&mut state, &slot, &me, &launched, at(6, 21)));
}

/// The owner's own claims: one it is not making is released after the lease; one it still
/// counts as making, only after twice the lease (an invocation stopped by the runtime without
/// ending leaves its launches "live" for good).
#[test]
fn own_claims_are_released_after_the_lease_or_twice_it_while_still_counted_live() {
    let (_config, state, _slot, me) = claimed_0620();
    let at_ms = me.at_ms;
    let lease = 300_000;
    let live = |_: &str, _: scheduler_core::Instant, _: u32, _: &Claim| true;
    let gone = |_: &str, _: scheduler_core::Instant, _: u32, _: &Claim| false;
    for (released_by, wall, n) in [
        ("gone, within the lease", at_ms + lease - 1, 0),
        ("gone, at the lease", at_ms + lease, 1),
        ("live, at the lease", at_ms + lease, 0),
        (
            "live, just before twice the lease",
            at_ms + 2 * lease - 1,
            0,
        ),
        ("live, at twice the lease", at_ms + 2 * lease, 1),
    ] {
        let mut s = state.clone();
        let released = if released_by.starts_with("live") {
            s.release_abandoned_claims("me", live, wall, lease)
        } else {
            s.release_abandoned_claims("me", gone, wall, lease)
        };
        assert_eq!(released.len(), n, "{released_by}");
        // Another owner's claims are never released by these.
        let mut other = state.clone();
        assert!(other
            .release_abandoned_claims("other", gone, wall, lease)
            .is_empty());
    }
}

/// An attempt that stalled for twice the lease, then resumed: its claim was released and a
/// retry by the same owner (the same incarnation) holds the slot now. The first attempt's
/// late outcome neither ends the retry's claim nor counts as the slot's outcome; the retry's
/// does.
#[test]
fn a_released_attempt_that_resumes_does_not_settle_the_retry_by_the_same_owner() {
    let (config, mut state, slot, first) = claimed_0620();
    let lease = 300_000;
    let live = |_: &str, _: scheduler_core::Instant, _: u32, _: &Claim| true;
    let released = state.release_abandoned_claims("me", live, first.at_ms + 2 * lease, lease);
    assert_eq!(released.len(), 1);
    state = plan_tick("inst", &config, &state, at(6, 30)).state;
    let retry = state
        .claim(&slot, "me", first.at_ms + 2 * lease + 1)
        .expect("the retry claims the slot");
    let stopped = Outcome::Failed {
        message: "the launch has taken too long; it is retried".into(),
        permanent: false,
    };
    assert!(!settle(&mut state, &slot, &first, &stopped, at(6, 31)));
    assert_eq!(
        state.claim_of(&slot),
        Some(&retry),
        "the retry still holds it"
    );
    state.unclaim(&slot, &first);
    state.record_launch_interrupted(&slot, &first);
    assert_eq!(state.claim_of(&slot), Some(&retry), "nor can it hand it on");
    assert!(settle(&mut state, &slot, &retry, &launched_t1(), at(6, 31)));
    assert_eq!(state.runs.len(), 1);
}

/// A slot given up while its launch was still out (its claim released, the slot out of its
/// window; its clean-up listed the slot's clones before this launch's clone landed): the run
/// that launch started is still recorded, once. One still pending under another owner's claim is not.
#[test]
fn a_launch_that_lands_after_its_slot_was_given_up_is_still_a_run() {
    let (config, mut state, slot, me) = claimed_0620();
    let launched = launched_t1();
    // Another owner holds the slot now: its attempt finds this clone by its tag.
    let mut taken = state.clone();
    taken.tasks.get_mut("a").unwrap().pending[0].claim = Some(scheduler_core::Claim {
        owner: "other".into(),
        at_ms: 1,
    });
    assert!(!settle(&mut taken, &slot, &me, &launched, at(6, 21)));
    assert!(taken.runs.is_empty());
    // A claimed slot is never given up for want of an outcome: it stays "me"'s.
    let kept = plan_tick("inst", &config, &state, at(6, 20).add_seconds(6 * 3600)).state;
    assert!(kept.claim_of(&slot).is_some());
    // Its claim released as stale (a failed attempt), hours later the planner gives it up.
    assert_eq!(
        state.release_stale_claims("other", 600_000, 300_000).len(),
        1
    );
    state = plan_tick("inst", &config, &state, at(6, 20).add_seconds(6 * 3600)).state;
    assert!(
        state.tasks["a"].pending.iter().all(|p| !p.is(&slot)),
        "given up: {:?}",
        state.tasks["a"].pending
    );
    let failed = Outcome::Failed {
        message: "x".into(),
        permanent: false,
    };
    assert!(!settle(&mut state, &slot, &me, &failed, at(12, 21)));
    assert!(settle(&mut state, &slot, &me, &launched, at(12, 21)));
    assert_eq!(state.runs.len(), 1);
    assert_eq!(state.runs[0].task_id, "t1");
    assert!(!settle(&mut state, &slot, &me, &launched, at(12, 21)));
}

/// A retry that finds the slot's clone already ended (its enqueue's answer was lost, or the
/// worker died before recording it, and the run finished meanwhile): the run is recorded open,
/// so the next status poll ends it as every run ends (told, rerun if asked), not dropped.
#[test]
fn a_clone_found_already_ended_is_recorded_open_for_the_poll_to_end() {
    let (_, mut state, slot, me) = claimed_0620();
    let found_done = Outcome::Launched {
        task_id: "t1".into(),
        name: "n".into(),
        project_id: None,
        status: TaskStatus::Failed,
        reused: true,
    };
    assert!(settle(&mut state, &slot, &me, &found_done, at(6, 40)));
    assert_eq!(state.runs.len(), 1, "open until the poll reads it");
    let ended = state.record_status("t1", TaskStatus::Failed);
    assert!(ended.is_some(), "the poll ends it, so it is told and rerun");
    assert!(state.runs.is_empty());
}
