//! In-memory state: projects, queues and tasks as clearml-server returns them, plus demo data.
//!
//! Entities are kept as the JSON documents the API returns (`to_proper_dict` shape), so unset
//! fields are simply absent and `only_fields` projections work on dotted paths. Bookkeeping the
//! API never shows (the status before enqueueing, when a status changed) lives beside the document.

use std::time::{Instant, SystemTime};

use serde_json::{json, Map, Value};

use super::clock::iso;
use super::faults::Faults;
use super::records::Records;

/// The company every entity belongs to (clearml-server's default company id).
pub const COMPANY_ID: &str = "d1bd92a3b039400cbafc60a7a5b1e52b";
/// The user every call is made as.
pub const USER_ID: &str = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";
pub const USER_NAME: &str = "Stand-in User";

/// Fixed ids of the demo data, so docs and tests can refer to them.
pub mod demo {
    pub const PROJECT_EXAMPLES: &str = "e0000000000000000000000000000001";
    pub const PROJECT_SCHEDULED: &str = "e0000000000000000000000000000002";
    pub const QUEUE_DEFAULT: &str = "f0000000000000000000000000000001";
    pub const QUEUE_SERVICES: &str = "f0000000000000000000000000000002";
    pub const QUEUE_GPU: &str = "f0000000000000000000000000000003";
    /// "train model" in Examples, hyperparameters Args/batch, Args/lr, Args/epochs.
    pub const TASK_TRAIN: &str = "aabbccddeeff00112233445566778899";
    /// "evaluate model" in Examples.
    pub const TASK_EVALUATE: &str = "aabbccddeeff00112233445566778800";
    /// "nightly report" in Scheduled (type data_processing).
    pub const TASK_REPORT: &str = "aabbccddeeff00112233445566778811";
    /// Demo credentials (override with --access-key/--secret-key or the CLEARML_API_* env vars).
    pub const ACCESS_KEY: &str = "STANDINACCESSKEY0001";
    pub const SECRET_KEY: &str = "standin-secret-key-0001-do-not-use-in-production";
}

/// A task document plus what the server keeps but does not return by default.
#[derive(Debug, Clone)]
pub struct Task {
    pub doc: Map<String, Value>,
    /// The status before the task was queued (`enqueue_status`, excluded by default in the API).
    pub enqueue_status: Option<String>,
    /// When the status last changed (for the built-in agent).
    pub changed_at: Instant,
    /// The built-in agent started this task and will complete it.
    pub run_by_agent: bool,
}

impl Task {
    pub fn new(doc: Map<String, Value>) -> Self {
        Task {
            doc,
            enqueue_status: None,
            changed_at: Instant::now(),
            run_by_agent: false,
        }
    }

    pub fn id(&self) -> &str {
        self.doc.get("id").and_then(Value::as_str).unwrap_or("")
    }

    pub fn status(&self) -> &str {
        self.doc
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("created")
    }

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.doc.get(key).and_then(Value::as_str)
    }

    pub fn execution_queue(&self) -> Option<&str> {
        self.doc
            .get("execution")
            .and_then(|e| e.get("queue"))
            .and_then(Value::as_str)
    }
}

/// One entry of a queue.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    pub task: String,
    pub added: String,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub created: String,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    pub entries: Vec<QueueEntry>,
    pub last_update: String,
}

impl Queue {
    pub fn new(id: &str, name: &str, system_tags: &[&str], now: &str) -> Self {
        Queue {
            id: id.into(),
            name: name.into(),
            created: now.into(),
            tags: vec![],
            system_tags: system_tags.iter().map(|s| s.to_string()).collect(),
            entries: vec![],
            last_update: now.into(),
        }
    }

    /// The queue as queues.get_all / get_by_id return it.
    pub fn doc(&self) -> Map<String, Value> {
        let entries: Vec<Value> = self
            .entries
            .iter()
            .map(|e| json!({"task": e.task, "added": e.added}))
            .collect();
        let v = json!({
            "id": self.id,
            "name": self.name,
            "user": USER_ID,
            "company": COMPANY_ID,
            "created": self.created,
            "tags": self.tags,
            "system_tags": self.system_tags,
            "entries": entries,
            "metadata": {},
            "last_update": self.last_update,
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }
}

/// Everything behind the stand-in's single lock.
pub struct State {
    pub projects: Vec<Map<String, Value>>,
    pub queues: Vec<Queue>,
    pub tasks: Vec<Task>,
    /// Tokens carry the epoch they were issued in; bumping it invalidates them all.
    pub token_epoch: u64,
    pub records: Records,
    pub faults: Faults,
    pub started: Instant,
    /// The built-in agent is running (tasks.enqueue reports queues as watched; workers.get_all
    /// lists it on every queue).
    pub agent_on: bool,
    /// Workers registered by hand (tests), besides the built-in agent.
    pub workers: Vec<Worker>,
}

/// A worker as `workers.get_all` lists it: an agent listening to some queues.
#[derive(Debug, Clone)]
pub struct Worker {
    pub id: String,
    /// The ids of the queues it listens to.
    pub queues: Vec<String>,
}

impl State {
    /// Fresh state, with the demo data when `demo` is set.
    pub fn new(demo: bool) -> Self {
        let mut s = State {
            projects: vec![],
            queues: vec![],
            tasks: vec![],
            token_epoch: 0,
            records: Records::default(),
            faults: Faults::default(),
            started: Instant::now(),
            agent_on: false,
            workers: vec![],
        };
        if demo {
            s.load_demo();
        }
        s
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id() == id)
    }

    pub fn task_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.id() == id)
    }

    pub fn queue(&self, id: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.id == id)
    }

    pub fn queue_mut(&mut self, id: &str) -> Option<&mut Queue> {
        self.queues.iter_mut().find(|q| q.id == id)
    }

    pub fn project(&self, id: &str) -> Option<&Map<String, Value>> {
        self.projects
            .iter()
            .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
    }

    pub fn project_by_name(&self, name: &str) -> Option<&Map<String, Value>> {
        self.projects
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Create a project (and its missing parents, as clearml-server does for "a/b/c") and return its id.
    pub fn insert_project(
        &mut self,
        id: Option<&str>,
        name: &str,
        description: &str,
        tags: Vec<String>,
        system_tags: Vec<String>,
    ) -> String {
        if let Some((parent, _)) = name.rsplit_once('/') {
            if self.project_by_name(parent).is_none() {
                self.insert_project(None, parent, "", vec![], vec![]);
            }
        }
        let now = iso(SystemTime::now());
        let id = id.map(str::to_string).unwrap_or_else(new_id);
        let basename = name.rsplit('/').next().unwrap_or(name);
        let mut doc = json!({
            "id": id,
            "name": name,
            "basename": basename,
            "description": description,
            "user": USER_ID,
            "company": COMPANY_ID,
            "created": now,
            "tags": tags,
            "system_tags": system_tags,
            "last_update": now,
        });
        if let Some((parent, _)) = name.rsplit_once('/') {
            if let Some(pid) = self
                .project_by_name(parent)
                .and_then(|p| p.get("id"))
                .cloned()
            {
                doc["parent"] = pid;
            }
        }
        if let Value::Object(m) = doc {
            self.projects.push(m);
        }
        id
    }

    fn load_demo(&mut self) {
        let now = iso(SystemTime::now());
        self.insert_project(
            Some(demo::PROJECT_EXAMPLES),
            "Examples",
            "Demo tasks to clone",
            vec![],
            vec![],
        );
        self.insert_project(
            Some(demo::PROJECT_SCHEDULED),
            "Scheduled",
            "Where scheduled runs go",
            vec![],
            vec![],
        );
        self.queues.push(Queue::new(
            demo::QUEUE_DEFAULT,
            "default",
            &["default"],
            &now,
        ));
        self.queues
            .push(Queue::new(demo::QUEUE_SERVICES, "services", &[], &now));
        self.queues
            .push(Queue::new(demo::QUEUE_GPU, "gpu", &[], &now));

        let train = demo_task(
            demo::TASK_TRAIN,
            "train model",
            demo::PROJECT_EXAMPLES,
            "training",
            "train.py",
            &[
                ("batch", "32", "int"),
                ("lr", "0.001", "float"),
                ("epochs", "10", "int"),
            ],
            &now,
        );
        let evaluate = demo_task(
            demo::TASK_EVALUATE,
            "evaluate model",
            demo::PROJECT_EXAMPLES,
            "testing",
            "evaluate.py",
            &[("checkpoint", "latest", "str")],
            &now,
        );
        let report = demo_task(
            demo::TASK_REPORT,
            "nightly report",
            demo::PROJECT_SCHEDULED,
            "data_processing",
            "report.py",
            &[("days", "1", "int")],
            &now,
        );
        for doc in [train, evaluate, report] {
            self.tasks.push(Task::new(doc));
        }
    }
}

/// A new entity id, 32 hex digits like clearml-server's `database.utils.id()`.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn demo_task(
    id: &str,
    name: &str,
    project: &str,
    task_type: &str,
    entry_point: &str,
    args: &[(&str, &str, &str)],
    now: &str,
) -> Map<String, Value> {
    let mut section = Map::new();
    for (k, v, t) in args {
        section.insert(
            k.to_string(),
            json!({"section": "Args", "name": k, "value": v, "type": t, "description": ""}),
        );
    }
    let v = json!({
        "id": id,
        "name": name,
        "type": task_type,
        "status": "created",
        "comment": format!("Demo task '{name}'"),
        "created": now,
        "user": USER_ID,
        "company": COMPANY_ID,
        "project": project,
        "tags": [],
        "system_tags": [],
        "script": {
            "repository": "https://github.com/example/ml.git",
            "branch": "main",
            "entry_point": entry_point,
            "working_dir": ".",
            "requirements": {},
        },
        "output": {},
        "execution": {"artifacts": [], "parameters": {}},
        "models": {"input": [], "output": []},
        "container": {},
        "hyperparams": {"Args": section},
        "configuration": {
            "General": {"name": "General", "type": "dictionary", "value": "{}", "description": ""}
        },
        "runtime": {},
        "last_iteration": 0,
        "last_update": now,
        "last_change": now,
        "last_changed_by": USER_ID,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}
