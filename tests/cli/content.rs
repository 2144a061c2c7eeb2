//! The bundled runbooks against their articles: the components, MSIs, nodes, hosts, conditions
//! and file tables of each article are in its runbook, and the conditions select exactly the
//! steps the article says. The expected lists are copied from the articles in
//! `../shared/seeds/`, not from the runbooks.

use crate::common;

use std::collections::BTreeSet;

use stepwise::plan::{Bindings, Plan};
use stepwise::runbook::{Action, Runbook, Source, Value, bundled, load};

fn runbook(id: &str) -> Runbook {
    let source: Source = bundled::get(id).unwrap_or_else(|| panic!("no bundled runbook {id}"));
    let loaded = load(&source);
    assert!(
        loaded.diagnostics.is_empty(),
        "{id}: {:?}",
        loaded.diagnostics
    );
    loaded.runbook.unwrap()
}

fn plan<'r>(rb: &'r Runbook, values: &[(&str, bool)]) -> Plan<'r> {
    let mut b = Bindings::default();
    for (name, v) in values {
        assert!(
            rb.parameter(name).is_some(),
            "{}: no parameter {name}",
            rb.id
        );
        b.values.insert(name.to_string(), Value::Bool(*v));
    }
    Plan::new(rb, &b)
}

fn lower(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_lowercase()).collect()
}

/// The item texts of the planned steps whose id starts with `prefix`.
fn items(plan: &Plan, prefix: &str) -> BTreeSet<String> {
    plan.phases
        .iter()
        .flat_map(|p| p.steps.iter())
        .filter(|s| s.step.id.starts_with(prefix))
        .flat_map(|s| s.step.items.iter().map(|i| i.text.source().to_lowercase()))
        .collect()
}

/// The file names of every copy action in the plan.
fn copied(plan: &Plan) -> BTreeSet<String> {
    plan.phases
        .iter()
        .flat_map(|p| p.steps.iter())
        .filter_map(|s| match s.step.automated() {
            Some(Action::Copy(c)) => Some(c.files.iter().map(|f| f.value.to_lowercase())),
            _ => None,
        })
        .flatten()
        .collect()
}

fn step_ids(plan: &Plan) -> Vec<String> {
    plan.phases
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| s.step.id.clone()))
        .collect()
}

fn instance_keys(plan: &Plan) -> Vec<String> {
    plan.instances.iter().map(|i| i.key.clone()).collect()
}

const HMC45_COMPONENTS: &[&str] = &[
    "Exchange 2007 Resource Manager",
    "Exchange 2007 Resource Manager Web Service",
    "Exchange 2007 Hosted Email",
    "Hosted Email 2007 Web Service",
    "Exchange 2007 Managed Email",
    "Managed Email 2007 Web Service",
    "Exchange 2007 Mobility Provider",
    "Exchange 2007 Provider",
    "Exchange 2007 Unified Messaging Provider",
];

/// The article's second list, without its repeat of "Exchange 2007 Mobility Provider".
const HMC45_COMPONENTS_WITHOUT_UR5: &[&str] = &[
    "Active Directory Provider",
    "BlockRMO Provider",
    "CoreRMO Provider",
    "File System Provider",
    "DNS Provider",
    "Exchange 2007 OAB Resource Manager Namespace",
    "Exchange 2007 OAB Resource Manager Web Service",
    "Hosted Active Directory Namespace",
    "Hosted Active Directory Web Service",
    "Managed Unified Messaging 2007 Namespace",
    "Managed AD Namespace",
    "Managed Active Directory Web Service",
    "Hosted SharePoint 2007 Web Service",
    "Hosted SharePoint 2007 Namespace",
];

const HMC45_MSIS: &[&str] = &[
    "Exchange2007ResourceManagerNS.msi",
    "Exchange2007ResourceManagerWS.msi",
    "HostedEmail2007NS.msi",
    "HostedEmail2007WS.msi",
    "ManagedEmail2007NS.msi",
    "ManagedEmail2007WS.msi",
    "Exchange2007MobilityProvider.msi",
    "Exchange2007Provider.msi",
    "UnifiedMessaging2007Provider.msi",
];

/// The article's second list, without its repeats of UnifiedMessaging2007Provider.msi and
/// Exchange2007MobilityProvider.msi.
const HMC45_MSIS_WITHOUT_UR5: &[&str] = &[
    "ActiveDirectoryProvider.msi",
    "BlockRMOProvider.msi",
    "CoreRMOProvider.msi",
    "FileSystemProvider.msi",
    "DNSProvider.msi",
    "Exchange2007OabResourceManagerNS.msi",
    "Exchange2007OabResourceManagerWS.msi",
    "HostedActiveDirectoryNS.msi",
    "HostedActiveDirectoryWS.msi",
    "ManagedUnifiedMessaging2007NS.msi",
    "ManagedADNS.msi",
    "ManagedActiveDirectoryWS.msi",
    "HostedSharePoint2007WS.msi",
    "HostedSharePoint2007NS.msi",
];

#[test]
fn hmc45_with_update_rollup_5_has_the_nine_components_and_msis_only() {
    let rb = runbook("hmc45-ur6");
    let plan = plan(
        &rb,
        &[("ur5_installed", true), ("upgraded_from_hmc40", true)],
    );
    assert_eq!(
        items(&plan, "uninstall-components"),
        lower(HMC45_COMPONENTS)
    );
    assert_eq!(copied(&plan), lower(HMC45_MSIS));
    let ids = step_ids(&plan);
    for absent in [
        "run-kb959196",
        "pwdb40ssis",
        "dnsclient",
        "run-checkfoldergroups-exe",
    ] {
        assert!(
            !ids.iter().any(|i| i == absent),
            "{absent} is planned with UR5"
        );
    }
    assert!(plan.is_decided());
}

#[test]
fn hmc45_without_update_rollup_5_has_all_23_components_and_msis_and_the_extra_phases() {
    let rb = runbook("hmc45-ur6");
    let plan = plan(
        &rb,
        &[("ur5_installed", false), ("upgraded_from_hmc40", false)],
    );
    let mut components = lower(HMC45_COMPONENTS);
    components.extend(lower(HMC45_COMPONENTS_WITHOUT_UR5));
    assert_eq!(components.len(), 23);
    assert_eq!(items(&plan, "uninstall-components"), components);
    let mut msis = lower(HMC45_MSIS);
    msis.extend(lower(HMC45_MSIS_WITHOUT_UR5));
    assert_eq!(msis.len(), 23);
    assert_eq!(copied(&plan), msis);
    let keys = instance_keys(&plan);
    for key in [
        "replace-rpchttpconfigtool@PROV01",
        "pwdb40ssis@OMSQL01",
        "dnsclient@DNS01",
        "uninstall-categorizer-perf-counters@EXHUB01",
        "remove-categorizer-registry-key@EXHUB01",
        "remove-smtpdomaincachetask@EXHUB01",
        "restart-exchange-transport@EXHUB01",
        "reinstall-resourcemanagedatabase@MPSSQL01",
        "run-kb959196@MPSSQL01",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
    assert!(
        !step_ids(&plan)
            .iter()
            .any(|i| i.contains("checkfoldergroups"))
    );
    let upgraded = plan_with(&rb, false, true);
    assert!(
        step_ids(&upgraded)
            .iter()
            .any(|i| i == "run-checkfoldergroups-exe")
    );
}

fn plan_with(rb: &Runbook, ur5: bool, upgraded: bool) -> Plan<'_> {
    plan(
        rb,
        &[("ur5_installed", ur5), ("upgraded_from_hmc40", upgraded)],
    )
}

#[test]
fn hmc45_initialize_nodes_restarts_and_manifest() {
    let rb = runbook("hmc45-ur6");
    let plan = plan_with(&rb, true, false);
    assert_eq!(
        items(&plan, "initialize-nodes"),
        lower(&[
            "Hosted Active Directory",
            "Managed Email 2007",
            "Exchange 2007 OAB Resource Manager",
            "Hosted Email 2007",
            "Exchange 2007 Resource Manager",
            "Hosted SharePoint",
        ])
    );
    let keys = instance_keys(&plan);
    assert!(keys.contains(&"restart-provisioning-engine@MPS01".to_string()));
    assert!(keys.iter().any(|k| k.starts_with("restart-iis@")));
    assert!(keys.contains(&"disable-provisioning-engine@MPS01".to_string()));
    // The manifest is the article's whole table, whatever the parameters.
    let files: Vec<_> = rb.manifests.iter().flat_map(|m| m.files.iter()).collect();
    assert_eq!(files.len(), 33);
    let size = |name: &str| rb.manifest_file(None, name).and_then(|f| f.size);
    assert_eq!(size("Rpchttpconfigtool.msi"), Some(412_672));
    assert_eq!(size("Exchange2007ResourceManagerNS.msi"), Some(308_736));
    assert_eq!(size("Managedemail2007ws.msi"), Some(524_800));
    assert_eq!(size("Kb959196.msi"), Some(756_224));
    // Every MSI the steps copy is in the manifest, whichever way it is spelled.
    let all = plan_with(&rb, false, false);
    for msi in copied(&all) {
        assert!(size(&msi).is_some(), "{msi} is not in the manifest");
    }
    assert_eq!(rb.prerequisites.len(), 4);
    for p in ["package_dir", "msi_share"] {
        assert!(rb.parameter(p).is_some(), "no {p}");
    }
    let default = |p: &str| rb.parameter(p).unwrap().default.clone();
    assert_eq!(
        default("package_dir"),
        Some(Value::Text(r"C:\temp\QFERollupPackage".into()))
    );
    assert_eq!(
        default("msi_share"),
        Some(Value::Text(r"C:\MSIShare".into()))
    );
}

#[test]
fn hmc45_open_conditions_are_not_guessed() {
    let rb = runbook("hmc45-ur6");
    let plan = Plan::new(&rb, &Bindings::default());
    assert!(!plan.is_decided());
    // With nothing known, every step is in the plan, the conditional ones marked.
    assert_eq!(items(&plan, "uninstall-components").len(), 23);
}

const HMC40_COMPONENTS: &[&str] = &[
    "Hosted SharePoint 2007 Namespace",
    "Managed SharePoint 2007 Namespace",
    "Hosted SharePoint 2007 Web Services",
    "Managed SharePoint 2007 Web Services",
    "Exchange 2007 Provider",
    "DNS Provider",
    "Exchange 2007 Resource Manager Namespace",
    "Unified Messaging 2007 Provider",
    "Hosted Email 2007 Namespace",
    "Managed Email 2007 Namespace",
    "Exchange 2007 Mobility Provider",
    "Exchange 2007 Resource Manager Web Services",
    "Hosted Email 2007 Web Services",
    "Managed Email2007 Web Services",
    "Managed Helpers",
    "Exchange 2007 OAB Resource Manager Namespace",
    "Exchange 2007 OAB Resource Manager Web Services",
];

const HMC40_MSIS: &[&str] = &[
    "HostedSharePoint2007NS.msi",
    "ManagedSharePoint2007NS.msi",
    "HostedSharePoint2007WS.msi",
    "ManagedSharePoint2007WS.msi",
    "Exchange2007Provider.msi",
    "DNSClient.msi",
    "DNSProvider.msi",
    "WindowsSharePointServicesWebService.msi",
    "Exchange2007ResourceManagerNS.msi",
    "UnifiedMessaging2007Provider.msi",
    "HostedEmail2007NS.msi",
    "ManagedEmail2007NS.msi",
    "ManagedHelpers.msi",
    "SharedOABUtility.msi",
    "Exchange2007MobilityProvider.msi",
    "Exchange2007ResourceManagerWS.msi",
    "HostedEmail2007WS.msi",
    "ManagedEmail2007WS.msi",
    "Exchange2007OABResourceManagerNS.msi",
    "Exchange2007OABResourceManagerWS.msi",
    "Resourcemanagedatabase.msi",
];

#[test]
fn hmc40_components_msis_and_the_oab_condition() {
    let rb = runbook("hmc40-rollup-2011");
    let near = plan(&rb, &[("near_oab_limit", true)]);
    let far = plan(&rb, &[("near_oab_limit", false)]);
    assert_eq!(HMC40_COMPONENTS.len(), 17);
    assert_eq!(items(&far, "uninstall-components"), lower(HMC40_COMPONENTS));
    assert_eq!(items(&far, "reinstall-components"), lower(HMC40_COMPONENTS));
    assert_eq!(HMC40_MSIS.len(), 21);
    assert_eq!(copied(&far), lower(HMC40_MSIS));
    assert_eq!(
        items(&far, "initialize-").len(),
        8,
        "two Initialize groups of four"
    );
    assert!(
        step_ids(&near)
            .iter()
            .any(|s| s == "run-shared-oab-utility")
    );
    assert!(!step_ids(&far).iter().any(|s| s == "run-shared-oab-utility"));
    let keys = instance_keys(&far);
    for key in [
        "dns-run-client@DNS01",
        "sharepoint-run-web-service@COLLAB01",
        "install-resource-manager-database@MPSSQL",
        "restart-provisioning-engine@MPS01",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing");
    }
    let files: usize = rb.manifests.iter().map(|m| m.files.len()).sum();
    assert_eq!(files, 22);
    assert_eq!(
        rb.manifest_file(None, "Servicebase.msi")
            .and_then(|f| f.size),
        Some(378_880)
    );
}

#[test]
fn ocs2007_installs_on_six_roles_and_carries_the_error_1053_workarounds() {
    let rb = runbook("ocs2007-kb961569");
    let plan = Plan::new(&rb, &Bindings::default());
    let installs: Vec<_> = plan
        .phases
        .iter()
        .flat_map(|p| p.steps.iter())
        .filter(|s| s.step.id.starts_with("install-"))
        .collect();
    assert_eq!(installs.len(), 6);
    assert!(installs.iter().all(|s| s.step.on.is_some()));
    let configs: BTreeSet<String> = rb
        .known_issues
        .iter()
        .flat_map(|k| k.steps.iter())
        .filter_map(|s| match &s.action {
            Action::WriteFile(w) => {
                assert!(
                    w.content
                        .source()
                        .contains(r#"<generatePublisherEvidence enabled="false"/>"#)
                );
                Some(w.file.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        configs,
        BTreeSet::from([
            "Acpmcusvc.exe.config".to_string(),
            "Datamcusvc.exe.config".to_string(),
            "Immcusvc.exe.config".to_string(),
        ])
    );
    for k in &rb.known_issues {
        assert!(k.symptom.contains("Error 1053"), "{}", k.id);
        assert!(k.cause.is_some() && k.workaround.is_some(), "{}", k.id);
    }
    assert_eq!(
        rb.manifest_file(None, "Sipstack.dll").and_then(|f| f.size),
        Some(1_852_928)
    );
}

#[test]
fn ocs2007r2_avmcu_installs_on_three_roles() {
    let rb = runbook("ocs2007r2-avmcu-kb2028578");
    let plan = plan(&rb, &[]);
    let installs = step_ids(&plan)
        .into_iter()
        .filter(|s| s.starts_with("install-"))
        .count();
    assert_eq!(installs, 3);
    assert!(rb.restart.as_deref().unwrap_or("").contains("restart"));
}

#[test]
fn exchange2007_ur1_prerequisites_and_both_known_issues() {
    let rb = runbook("exchange2007-ur1");
    assert!(
        rb.prerequisites
            .iter()
            .any(|p| p.text.source().contains("interim updates"))
    );
    let text: String = rb
        .known_issues
        .iter()
        .map(|k| {
            format!(
                "{} {} {:?}",
                k.symptom,
                k.cause.as_deref().unwrap_or(""),
                k.workaround
            )
        })
        .collect();
    for fact in [
        "11306",
        "1023",
        "1024",
        "0x80070643",
        "ServiceControl.ps1",
        "ExchangeSetupLogs",
    ] {
        assert!(text.contains(fact), "{fact} missing from the known issues");
    }
    assert_eq!(rb.known_issues.len(), 2);
}

/// The printed checklist, split at the file manifests: (the steps, the manifests).
fn checklist(id: &str, sets: &[&str]) -> (String, String) {
    let mut cmd = common::stepwise_command();
    cmd.args(["checklist", id]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // A runbook whose article has no file table has no manifest section.
    let at = text.find("\nFILE MANIFESTS\n").unwrap_or(text.len());
    (text[..at].to_lowercase(), text[at..].to_lowercase())
}

#[test]
fn hmc45_printed_checklist_follows_update_rollup_5() {
    let (steps, manifest) = checklist(
        "hmc45-ur6",
        &["ur5_installed=true", "upgraded_from_hmc40=false"],
    );
    for name in HMC45_COMPONENTS.iter().chain(HMC45_MSIS) {
        assert!(
            steps.contains(&name.to_lowercase()),
            "{name} missing from the steps"
        );
    }
    for name in HMC45_COMPONENTS_WITHOUT_UR5 {
        // "Hosted SharePoint 2007 Namespace" also names an Initialize node ("Hosted SharePoint").
        assert!(
            !steps.contains(&format!("[ ] {}", name.to_lowercase())),
            "{name} is in the steps with UR5 installed"
        );
    }
    for name in HMC45_MSIS_WITHOUT_UR5 {
        assert!(
            !steps.contains(&name.to_lowercase()),
            "{name} is in the steps with UR5 installed"
        );
    }
    // The manifest still lists every file of the article.
    for name in HMC45_MSIS.iter().chain(HMC45_MSIS_WITHOUT_UR5) {
        assert!(
            manifest.contains(&name.to_lowercase()),
            "{name} missing from the manifest"
        );
    }
    assert!(manifest.contains("rpchttpconfigtool.msi") && manifest.contains("412,672"));

    let (steps, _) = checklist(
        "hmc45-ur6",
        &["ur5_installed=false", "upgraded_from_hmc40=false"],
    );
    for name in HMC45_COMPONENTS
        .iter()
        .chain(HMC45_COMPONENTS_WITHOUT_UR5)
        .chain(HMC45_MSIS)
        .chain(HMC45_MSIS_WITHOUT_UR5)
    {
        assert!(
            steps.contains(&name.to_lowercase()),
            "{name} missing without UR5"
        );
    }
    for phase in [
        "prov01",
        "omsql01",
        "dns client",
        "out of office",
        "kb959196",
    ] {
        assert!(steps.contains(phase), "{phase} missing without UR5");
    }
}

#[test]
fn hmc40_printed_checklist_follows_the_oab_limit() {
    let (far, manifest) = checklist("hmc40-rollup-2011", &["near_oab_limit=false"]);
    let (near, _) = checklist("hmc40-rollup-2011", &["near_oab_limit=true"]);
    for name in HMC40_COMPONENTS.iter().chain(HMC40_MSIS) {
        assert!(far.contains(&name.to_lowercase()), "{name} missing");
    }
    assert!(near.contains("run-shared-oab-utility") && !far.contains("run-shared-oab-utility"));
    assert!(manifest.contains("servicebase.msi"));
}

/// The printed checklists of the OCS and Exchange runbooks: the files, known issues and
/// conditions of their articles.
#[test]
fn ocs_and_exchange_printed_checklists_follow_their_articles() {
    // Text wrapped at 100 columns: compare with white space folded.
    let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (steps, manifest) = checklist("ocs2007-kb961569", &[]);
    let steps = fold(&steps);
    for fact in [
        "ocs2007-kb961569-x86-server.msp",
        "error 1053: the service did not respond to the start or control request in a timely fashion.",
        "<generatepublisherevidence enabled=\"false\"/>",
        "immcusvc.exe.config",
        "acpmcusvc.exe.config",
        "datamcusvc.exe.config",
    ] {
        assert!(steps.contains(fact), "ocs2007: {fact} missing");
    }
    assert!(manifest.contains("sipstack.dll") && manifest.contains("1,852,928"));

    let (avmcu, _) = checklist("ocs2007r2-avmcu-kb2028578", &[]);
    assert!(avmcu.contains("ocs2007r2-kb2028578-amd64-avmcu.msp"));

    let sets = ["interim_updates_installed=true", "issue1_seen_before=false"];
    let (with_interim, _) = checklist("exchange2007-ur1", &sets);
    let with_interim = fold(&with_interim);
    let (without_interim, _) = checklist(
        "exchange2007-ur1",
        &[
            "interim_updates_installed=false",
            "issue1_seen_before=false",
        ],
    );
    assert!(with_interim.contains("[remove-interim-updates]"));
    assert!(!without_interim.contains("[remove-interim-updates]"));
    for fact in [
        "11306",
        "1023",
        "1024",
        "0x80070643",
        "servicecontrol.ps1 afterpatch",
        "exchangesetuplogs",
    ] {
        assert!(
            with_interim.contains(fact),
            "exchange2007-ur1: {fact} missing"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Where a runbook reads its article, the reading is visible at the step itself; each test below
// holds one bundled runbook to its article through the printed checklist and, where it is about
// behaviour, through a run with an answers file.

/// The whole text checklist, white space folded (text is wrapped at 100 columns).
fn folded_checklist(id: &str, sets: &[&str], format: &str) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"));
    cmd.args(["checklist", id, "--format", format]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The part of a folded text checklist after step `[id]`'s heading, up to the next `[step-id]`
/// (which ends the block with the next step's number and title).
fn step_block<'a>(checklist: &'a str, id: &str) -> &'a str {
    let start = checklist
        .find(&format!("[{id}]"))
        .unwrap_or_else(|| panic!("no step [{id}]"));
    let rest = &checklist[start + id.len() + 2..];
    let is_id = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    let end = rest
        .match_indices('[')
        .find(|(i, _)| {
            rest[i + 1..]
                .find(']')
                .is_some_and(|j| is_id(&rest[i + 1..i + 1 + j]))
        })
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// Runs a bundled runbook with an answers file in a fresh folder: (exit code, what it printed,
/// the folder).
fn run_with_answers(id: &str, answers: &str) -> (i32, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), answers).unwrap();
    // Every server of the article is this machine here, its folders temporary ones.
    std::fs::write(
        dir.path().join("inventory.yaml"),
        "defaults: { target: local }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .current_dir(dir.path())
        .env("STEPWISE_OPERATOR", "tester")
        .args([
            "run",
            id,
            "--inventory",
            "inventory.yaml",
            "--answers",
            "a.yaml",
            "--state-dir",
            "runs",
        ])
        .output()
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), shown, dir)
}

#[test]
fn ocs2007_workaround_runs_where_the_error_occurred_and_says_its_net_limit() {
    let text = folded_checklist("ocs2007-kb961569", &[], "text");
    // The printed checklist and a run agree: the workaround is done on the failed host.
    assert_eq!(
        text.matches(
            "Run them on the server where the issue occurred (SE01 at step 1.1, FE01 at step 1.2):"
        )
        .count(),
        3
    );
    for placeholder in ["IMCONF01", "TELCONF01", "WEBCONF01", "im_conferencing)"] {
        assert!(
            !text.contains(placeholder),
            "{placeholder} is still printed"
        );
    }
    // The .NET Framework 2.0 SP1 limit is at each workaround step, with the article's numbers.
    for file in ["Immcusvc", "Acpmcusvc", "Datamcusvc"] {
        let id = format!("write-{}-config", file.to_lowercase());
        let block = step_block(&text, &id);
        assert!(block.contains("(article step 1-4)"), "{id}: {block}");
        assert!(
            block.contains("works only with the Microsoft .NET Framework 2.0 Service Pack 1 (SP1)"),
            "{id}: {block}"
        );
    }

    // A run whose install fails on SE01 applies the workaround on SE01, and shows the limit.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("imconf");
    std::fs::create_dir(&conf).unwrap();
    let answers = format!(
        "params: {{ package_dir: '{}', im_conferencing_dir: '{}' }}\nconfirm: true\ndefault: done\nsteps:\n  install-standard-edition@SE01:\n    decision: automate\n    note: tested\n    on_failure: [workaround:error-1053-im-conferencing, done]\n",
        dir.path().display(),
        conf.display()
    );
    let (code, shown, _run) = run_with_answers("ocs2007-kb961569", &answers);
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("Workaround step (article step 1-4)  Create Immcusvc.exe.config beside Immcusvc.exe  on SE01"), "{shown}");
    assert!(shown.contains("key: write-immcusvc-config@SE01"), "{shown}");
    let folded = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        folded.contains("works only with the Microsoft .NET Framework 2.0 Service Pack 1 (SP1)")
    );
    assert!(conf.join("Immcusvc.exe.config").is_file());
}

#[test]
fn ocs2007r2_avmcu_install_steps_hold_with_or_without_uac() {
    let rb = runbook("ocs2007r2-avmcu-kb2028578");
    assert!(
        rb.parameter("uac_enabled").is_none(),
        "UAC is a per-server matter"
    );
    let text = folded_checklist("ocs2007r2-avmcu-kb2028578", &[], "text");
    assert!(!text.contains("open-elevated-prompt") && !text.contains("previous step"));
    for id in [
        "install-standard-edition",
        "install-enterprise-consolidated",
        "install-av-conferencing",
    ] {
        let block = step_block(&text, id);
        for fact in [
            "(article step 1-3)",
            "If this server runs Windows 2008 and has User Account Control (UAC) enabled",
            "Click Run as administrator.",
            "Without UAC, any Command Prompt will do.",
            "OCS2007R2-KB2028578-amd64-AVMCU.msp",
            "The runbook's reading:",
        ] {
            assert!(block.contains(fact), "{id}: {fact} missing: {block}");
        }
    }
    let (code, shown, _dir) = run_with_answers("ocs2007r2-avmcu-kb2028578", "default: done\n");
    assert_eq!(code, 0, "{shown}");
    assert!(!shown.contains("User Account Control (UAC) enabled?"));
    assert!(shown.contains(
        "Step 1.1 (article step 1-3)  Install the update on the Standard Edition server  on SE01"
    ));
}

#[test]
fn exchange2007_ur1_says_the_latest_rollup_at_the_install_and_works_around_issue_1_before_it() {
    let seen = folded_checklist(
        "exchange2007-ur1",
        &["interim_updates_installed=false", "issue1_seen_before=true"],
        "text",
    );
    let first = folded_checklist(
        "exchange2007-ur1",
        &[
            "interim_updates_installed=false",
            "issue1_seen_before=false",
        ],
        "text",
    );
    let install = step_block(&seen, "install-update-rollup-1");
    assert!(install.contains("You must download and install the latest update rollup (KB937052"));
    // Known issue 2 is offered at the install, where it happens; not at the folder check.
    assert!(install.contains("Known issue: Issue 2:"), "{install}");
    assert!(!step_block(&seen, "check-exchange-setup-logs").contains("Known issue: Issue 2:"));
    // The second method of issue 1 comes before the install when the issue was seen before.
    let before = seen
        .find("[set-services-startup-type-before-install]")
        .expect("the step before the install");
    assert!(before < seen.find("[install-update-rollup-1]").unwrap());
    assert!(
        step_block(&seen, "set-services-startup-type-before-install")
            .contains("Perform this procedure before you install the update rollup.")
    );
    assert!(!first.contains("[set-services-startup-type-before-install]"));
    // Creating c:\ExchangeSetupLogs is an action, after the restore the operator does by hand.
    let create = step_block(&seen, "create-exchange-setup-logs");
    assert!(
        create.contains(r"Automated (create_folder): creates the empty folder c:\ExchangeSetupLogs, with the folders above it that are missing, unless it is already there"),
        "{create}"
    );
    assert!(create.contains("The runbook's reading:"));
    assert!(seen.find("[restore-exchange-setup-logs]") < seen.find("[create-exchange-setup-logs]"));

    let (code, shown, _dir) = run_with_answers(
        "exchange2007-ur1",
        "params: { interim_updates_installed: false, issue1_seen_before: true, setup_logs_dir: '.' }\ndefault: done\nconfirm: true\n",
    );
    assert_eq!(code, 0, "{shown}");
    let before = shown
        .find("key: set-services-startup-type-before-install@EXCH01")
        .expect("walked");
    assert!(before < shown.find("key: install-update-rollup-1@EXCH01").unwrap());
}

#[test]
fn hmc40_checks_the_size_of_files_whose_names_the_table_cuts_short() {
    let text = folded_checklist("hmc40-rollup-2011", &[], "text");
    let copy = step_block(&text, "copy-msis");
    assert!(copy.contains("(article step 4)"));
    for fact in [
        "Exchange2007MobilityProvider.msi (368,128 bytes; the file table cuts its name short as Exchange2007mobilityprovide)",
        "UnifiedMessaging2007Provider.msi (407,040 bytes; the file table cuts its name short as Unifiedmessaging2007provide)",
        "Exchange2007OABResourceManagerNS.msi (251,392 or 447,488 bytes: the file table cuts the names of 2 rows short as Exchange2007oabresourcemana",
    ] {
        assert!(copy.contains(fact), "{fact} missing: {copy}");
    }
    // The final IIS restart has boxes to write its hosts in.
    assert!(step_block(&text, "restart-iis-web-services").contains("write in each host you do it on) [ ] ____________________ [ ] ____________________ [ ] ____________________"));

    // A wrong-size Exchange2007MobilityProvider.msi is blocking.
    let dir = tempfile::tempdir().unwrap();
    let (pkg, share) = (dir.path().join("pkg"), dir.path().join("share"));
    std::fs::create_dir(&pkg).unwrap();
    std::fs::create_dir(&share).unwrap();
    std::fs::write(
        pkg.join("Exchange2007MobilityProvider.msi"),
        vec![0u8; 1000],
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(["check", "hmc40-rollup-2011", "--set"])
        .arg(format!("package_dir={}", pkg.display()))
        .arg("--set")
        .arg(format!("msi_share={}", share.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!(
            "blocking  copy-msis: size of Exchange2007MobilityProvider.msi in {}: 1000 bytes; manifest `files` says 368128 bytes",
            pkg.display()
        )),
        "{shown}"
    );
    // The package against the file table says the same, before any step.
    assert!(
        shown.contains(&format!(
            "blocking  package {} against the file table: Exchange2007MobilityProvider.msi has 1000 bytes, not 368128 (the table cuts its name short as Exchange2007mobilityprovide)",
            pkg.display()
        )),
        "{shown}"
    );
}

#[test]
fn hmc45_reinstall_restart_installutil_and_article_steps_follow_the_article() {
    let with = folded_checklist("hmc45-ur6", &["ur5_installed=true"], "text");
    let without = folded_checklist(
        "hmc45-ur6",
        &["ur5_installed=false", "upgraded_from_hmc40=false"],
        "text",
    );
    // The reinstall ticks each component, as the uninstall does.
    assert_eq!(
        step_block(&with, "reinstall-components")
            .matches("[ ] ")
            .count(),
        10
    );
    assert_eq!(
        step_block(&without, "reinstall-components-ur5")
            .matches("[ ] ")
            .count(),
        15
    );
    assert!(!with.contains("[reinstall-components-ur5]"));
    // The Exchange Transport restart is unconditional, as in the article's restart requirement.
    for c in [&with, &without] {
        assert!(step_block(c, "restart-exchange-transport").contains("[ ] EXHUB01"));
    }
    // The article's InstallUtil command verbatim, and the reading beside it.
    let perf = step_block(&without, "uninstall-categorizer-perf-counters");
    assert!(perf.contains(r"%WINDIR%\Microsoft.NET\Framework\v2.0.50727\InstallUtil.exe CategorizerOverrideAgent.dll The runbook's reading"), "{perf}");
    assert!(perf.contains(r"InstallUtil.exe /u CategorizerOverrideAgent.dll"));
    // The order of step 14 and "on EXHUB01" are readings shown at the steps.
    let note = step_block(&without, "note-cache-refresh-time");
    assert!(note.contains("says \"On EXHUB01\"") && note.contains("the removal is done first"));
    assert_eq!(
        note.matches(r"TransportRoles\Agents\CategorizerOverrideAgent")
            .count(),
        1,
        "{note}"
    );
    assert!(
        step_block(&without, "install-oof-agent").contains("this step comes after the removal")
    );
    for id in [
        "uninstall-categorizer-perf-counters",
        "remove-categorizer-transport-agent",
        "remove-categorizer-program",
        "remove-categorizer-registry-key",
    ] {
        assert!(
            step_block(&without, id).contains("although the article says \"On EXHUB01\""),
            "{id}"
        );
    }
    // The article's step numbers, beside each step, in every format.
    assert!(step_block(&with, "restart-provisioning-engine").starts_with(" (article step 7)"));
    assert!(step_block(&without, "run-kb959196").starts_with(" (article step 17)"));
    let md = folded_checklist("hmc45-ur6", &["ur5_installed=true"], "md");
    assert!(
        md.contains("### 4.2 Restart the Provisioning Engine (article step 7)"),
        "md"
    );
    let html = folded_checklist("hmc45-ur6", &["ur5_installed=true"], "html");
    assert!(html.contains("Restart the Provisioning Engine <span class=\"id\">restart-provisioning-engine</span> <span class=\"article\">article step 7</span>"));

    let (code, shown, _dir) = run_with_answers(
        "hmc45-ur6",
        "params: { ur5_installed: true, upgraded_from_hmc40: false }\ndefault: done\nconfirm: false\nsteps:\n  copy-msis: { decision: by-hand, note: copied by hand }\n",
    );
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("Step 4.2 (article step 7)  Restart the Provisioning Engine  on MPS01"),
        "{shown}"
    );
    assert!(shown.contains("key: restart-exchange-transport@EXHUB01"));
}

/// Known issue 2 at the install: its workaround creates the missing ExchangeSetupLogs folder on
/// the host where the install failed, and leaves a restored one as it is.
#[test]
fn exchange2007_ur1_issue_2_workaround_creates_the_folder_on_the_failed_host() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("ExchangeSetupLogs");
    let answers = format!(
        "params: {{ interim_updates_installed: false, issue1_seen_before: false, setup_logs_dir: '{}' }}\ndefault: done\nconfirm: true\nsteps:\n  check-exchange-setup-logs@EXCH01: {{ note: seen missing, on_failure: [done] }}\n  install-update-rollup-1@EXCH01:\n    decision: fail\n    note: the Setup Wizard ended prematurely\n    on_failure: [workaround:exchange-setup-logs-missing, done]\n",
        logs.display()
    );
    let (code, shown, _run) = run_with_answers("exchange2007-ur1", &answers);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("key: create-exchange-setup-logs@EXCH01"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("created the empty folder {}", logs.display())),
        "{shown}"
    );
    assert!(logs.is_dir());
    assert_eq!(std::fs::read_dir(&logs).unwrap().count(), 0);

    // Restored by the operator: the same run leaves it and what is in it.
    std::fs::write(logs.join("ExchangeSetup.log"), "kept").unwrap();
    let (code, shown, _run) = run_with_answers("exchange2007-ur1", &answers);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(&format!("{} already exists; left as it is", logs.display())),
        "{shown}"
    );
    assert_eq!(
        std::fs::read_to_string(logs.join("ExchangeSetup.log")).unwrap(),
        "kept"
    );
}
