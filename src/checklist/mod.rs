//! Checklist renderers over a plan: plain text, Markdown, and a printable HTML page.

use crate::plan::Plan;

pub fn text(plan: &Plan) -> String {
    format!("{}\n", plan.runbook.title)
}

pub fn markdown(plan: &Plan) -> String {
    format!("# {}\n", plan.runbook.title)
}

pub fn html(plan: &Plan) -> String {
    format!("<h1>{}</h1>\n", plan.runbook.title)
}
