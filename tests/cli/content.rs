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
fn ocs2007r2_avmcu_installs_on_three_roles_with_an_elevated_prompt_under_uac() {
    let rb = runbook("ocs2007r2-avmcu-kb2028578");
    let with_uac = plan(&rb, &[("uac_enabled", true)]);
    let without = plan(&rb, &[("uac_enabled", false)]);
    let installs = |p: &Plan| {
        step_ids(p)
            .into_iter()
            .filter(|s| s.starts_with("install-"))
            .count()
    };
    assert_eq!(installs(&with_uac), 3);
    assert_eq!(installs(&without), 3);
    assert!(
        step_ids(&with_uac).len() > step_ids(&without).len(),
        "UAC adds the elevated prompt steps"
    );
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

    let (with_uac, _) = checklist("ocs2007r2-avmcu-kb2028578", &["uac_enabled=true"]);
    let (without, _) = checklist("ocs2007r2-avmcu-kb2028578", &["uac_enabled=false"]);
    assert!(with_uac.contains("ocs2007r2-kb2028578-amd64-avmcu.msp"));
    assert!(with_uac.contains("[open-elevated-prompt-standard-edition]"));
    assert!(!without.contains("[open-elevated-prompt-standard-edition]"));

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
