//! Domain types: the vocabulary of the service, parsed at the edge and trusted inside.

pub mod catalog;
pub mod connector;
pub mod connector_upsert;
pub mod decision;
pub mod delivery;
pub mod directory;
pub mod drift;
pub mod error;
pub mod facts;
pub mod formats;
pub mod grant;
pub mod ids;
pub mod jira;
pub mod number;
pub mod page;
pub mod policy_version;
pub mod request;
pub mod review;
pub mod shape;
pub mod token;

pub use catalog::{Connector, ConnectorKind, Risk, Tool, ToolStatus, ToolUpsert};
pub use connector::{
    ConnectorId, ConnectorRecord, ConnectorType, ConnectorView, ExternalId, Identity,
    IdentitySource,
};
pub use connector_upsert::{ConnectorSettings, ConnectorUpsert, Credentials, CredentialsInput};
pub use decision::{
    ContendedFacts, Decision, DecisionFacts, DecisionRecord, Outcome, Reason, RequestContextFacts,
    ToolFacts, UserFacts,
};
pub use delivery::{CommentKind, Delivery, DeliveryState, NewIssue, TransitionGoal};
pub use directory::{Group, GroupUpsert, User, UserUpsert};
pub use drift::{DriftRun, Finding, FindingKind, ToolDrift};
pub use error::DomainError;
pub use facts::{ApprovalFacts, ExtendFacts, StageVerdict, Verdict};
pub use grant::{Grant, GrantState};
pub use ids::{
    Email, GrantId, GroupId, IssueKey, PolicyVersionId, RequestId, RequestRef, ToolId,
    time_ordered_id,
};
pub use jira::{
    CommentVisibility, IntakeFields, IntakeRecord, JiraRecord, JiraSettings, JiraUpsert, JiraView,
    RecertProject, TransitionNames,
};
pub use policy_version::{
    FileChange, FileDiff, PolicyActivation, PolicyFile, PolicySource, PolicyVersionRecord,
};
pub use request::{
    AutomationRequest, NewRequest, NewTool, RequestRecord, RequestStatus, SubmitBody, SubmitRequest,
};
pub use review::{
    Approval, Closure, Escalation, Job, JobEscalation, JobKind, JobMode, JobOutcome, JobState,
    ProviderCall, RecertState, Recertification,
};
pub use token::{Role, TokenRecord};
