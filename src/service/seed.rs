//! The built-in catalog of common AI tools, with risk defaults an organisation can change.
//!
//! These are starting ratings, not rules: every decision about them is made by the policies.

use crate::domain::{Risk, ToolStatus};

/// One built-in catalog entry: id, name, provider, risk, default days.
pub(super) struct SeedTool {
    pub id: &'static str,
    pub name: &'static str,
    pub provider: &'static str,
    pub risk: Risk,
    pub default_duration_days: u32,
}

const fn tool(
    id: &'static str,
    name: &'static str,
    provider: &'static str,
    risk: Risk,
    default_duration_days: u32,
) -> SeedTool {
    SeedTool {
        id,
        name,
        provider,
        risk,
        default_duration_days,
    }
}

/// Every seeded tool starts `approved`; admins block or deny what they must.
pub(super) const SEED_STATUS: ToolStatus = ToolStatus::Approved;

/// Chat assistants, coding assistants, image generators and meeting tools.
pub(super) const SEED_CATALOG: &[SeedTool] = &[
    tool(
        "chatgpt-enterprise",
        "ChatGPT Enterprise",
        "OpenAI",
        Risk::Medium,
        90,
    ),
    tool(
        "chatgpt-plus",
        "ChatGPT Plus (personal)",
        "OpenAI",
        Risk::High,
        30,
    ),
    tool(
        "claude-team",
        "Claude for Teams",
        "Anthropic",
        Risk::Medium,
        90,
    ),
    tool(
        "gemini-workspace",
        "Gemini for Google Workspace",
        "Google",
        Risk::Medium,
        90,
    ),
    tool(
        "microsoft-365-copilot",
        "Microsoft 365 Copilot",
        "Microsoft",
        Risk::Low,
        180,
    ),
    tool(
        "perplexity-pro",
        "Perplexity Pro",
        "Perplexity",
        Risk::Medium,
        90,
    ),
    tool(
        "github-copilot",
        "GitHub Copilot Business",
        "GitHub",
        Risk::Low,
        180,
    ),
    tool("cursor", "Cursor", "Anysphere", Risk::Medium, 90),
    tool(
        "amazon-q-developer",
        "Amazon Q Developer",
        "Amazon Web Services",
        Risk::Medium,
        90,
    ),
    tool("tabnine", "Tabnine", "Tabnine", Risk::Low, 180),
    tool("midjourney", "Midjourney", "Midjourney", Risk::High, 30),
    tool("dall-e", "DALL-E", "OpenAI", Risk::Medium, 90),
    tool("adobe-firefly", "Adobe Firefly", "Adobe", Risk::Low, 180),
    tool(
        "stable-diffusion",
        "Stable Diffusion (hosted)",
        "Stability AI",
        Risk::High,
        30,
    ),
    tool("otter-ai", "Otter.ai", "Otter.ai", Risk::High, 30),
    tool(
        "fireflies-ai",
        "Fireflies.ai",
        "Fireflies.ai",
        Risk::High,
        30,
    ),
    tool(
        "zoom-ai-companion",
        "Zoom AI Companion",
        "Zoom",
        Risk::Low,
        180,
    ),
    tool(
        "grammarly",
        "Grammarly Business",
        "Grammarly",
        Risk::Low,
        180,
    ),
    tool("deepl-pro", "DeepL Pro", "DeepL", Risk::Low, 180),
    tool("elevenlabs", "ElevenLabs", "ElevenLabs", Risk::Critical, 14),
];
