//! The `members` commands as a user runs them: the real binary, a config file,
//! SQLite and PostgreSQL.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

fn eval_members_csv() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/coaching/members.csv");
    assert!(
        p.exists(),
        "missing {}: the coaching dev set is part of the repo",
        p.display()
    );
    p
}

/// A config file naming `url`, in its own folder.
fn config_for(url: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.toml");
    std::fs::write(&path, format!("[database]\nurl = \"{url}\"\n")).unwrap();
    (dir, path)
}

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CIRCLE_RELAY_DATABASE_URL")
        .output()
        .expect("run circle-relay")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

async fn database_urls(dir: &tempfile::TempDir) -> Vec<String> {
    vec![
        format!("sqlite://{}", dir.path().join("m.db").display()),
        common::fresh_postgres_url().await,
    ]
}

#[tokio::test]
async fn utf8_bom_and_shift_jis_files_import_identically_and_export_round_trips() {
    let original = std::fs::read(eval_members_csv()).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let files = tempfile::tempdir().unwrap();
    let bom = files.path().join("bom.csv");
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(&original);
    std::fs::write(&bom, with_bom).unwrap();
    let sjis = files.path().join("sjis.csv");
    let (encoded, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(
        !unmappable,
        "the dev set should be representable in Shift_JIS"
    );
    assert!(
        std::str::from_utf8(&encoded).is_err(),
        "the copy must really be Shift_JIS"
    );
    std::fs::write(&sjis, &*encoded).unwrap();

    let mut exports = Vec::new();
    for source in [eval_members_csv(), bom, sjis] {
        let dbs = tempfile::tempdir().unwrap();
        for url in database_urls(&dbs).await {
            let (_d, config) = config_for(&url);
            let said = ok(run(
                &config,
                &["members", "import", source.to_str().unwrap()],
            ));
            assert!(said.contains("41 added"), "{said}");
            exports.push(ok(run(&config, &["members", "export"])));
        }
    }
    for e in &exports[1..] {
        assert_eq!(
            e, &exports[0],
            "every encoding and backend must give the same directory"
        );
    }
    assert_eq!(exports[0].lines().count(), 42);
    assert!(
        exports[0].contains("megumi.arai@example.org,新井 めぐみ,看護師;助産師;母親学級;産後ケア,")
    );

    // Importing the export into a fresh directory gives the same export.
    let dbs = tempfile::tempdir().unwrap();
    let exported = dbs.path().join("exported.csv");
    std::fs::write(&exported, &exports[0]).unwrap();
    let (_d, config) = config_for(&format!("sqlite://{}", dbs.path().join("r.db").display()));
    ok(run(
        &config,
        &["members", "import", exported.to_str().unwrap()],
    ));
    assert_eq!(ok(run(&config, &["members", "export"])), exports[0]);
}

#[tokio::test]
async fn bad_rows_are_all_reported_and_nothing_is_applied() {
    let dbs = tempfile::tempdir().unwrap();
    let bad = dbs.path().join("bad.csv");
    std::fs::write(
        &bad,
        "email,name,skills,bio,languages,region,status\n\
         new.one@example.org,New One,coaching,,en,,\n\
         megumi.arai@example.org,Changed,nurse,,ja,,\n\
         broken-address,X,coaching,,en,,\n\
         ok.two@example.org,Two,coaching,,en,,\n\
         three@example.org,Three,coaching,,en,,retired\n\
         four@example.org,Four,coaching\n",
    )
    .unwrap();
    for url in database_urls(&dbs).await {
        let (_d, config) = config_for(&url);
        ok(run(
            &config,
            &["members", "import", eval_members_csv().to_str().unwrap()],
        ));
        let before = ok(run(&config, &["members", "export"]));

        let out = run(&config, &["members", "import", bad.to_str().unwrap()]);
        assert!(!out.status.success(), "{url}: a bad file must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        for line in ["line 4:", "line 6:", "line 7:"] {
            assert!(err.contains(line), "{url}: {line} missing from:\n{err}");
        }
        for good in ["line 2:", "line 3:", "line 5:"] {
            assert!(
                !err.contains(good),
                "{url}: {good} wrongly reported:\n{err}"
            );
        }
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(
            ok(run(&config, &["members", "export"])),
            before,
            "{url}: directory changed"
        );
    }
}

#[tokio::test]
async fn one_member_commands_and_replace() {
    let dbs = tempfile::tempdir().unwrap();
    for url in database_urls(&dbs).await {
        let (dir, config) = config_for(&url);
        ok(run(
            &config,
            &[
                "members",
                "add",
                "Taro..Yamada@docomo.ne.jp",
                "--name",
                "山田 太郎",
                "--skills",
                "看護師、保健師",
                "--languages",
                "ja;en",
                "--region",
                "東京",
            ],
        ));
        let dup = run(&config, &["members", "add", "taro..yamada@DOCOMO.ne.jp"]);
        assert!(!dup.status.success(), "{url}: duplicate add must fail");

        let said = ok(run(
            &config,
            &[
                "members",
                "pause",
                "taro..yamada@docomo.ne.jp",
                "--until",
                "2026-12-24",
            ],
        ));
        assert!(said.contains("until 2026-12-24"), "{said}");
        let listed = ok(run(&config, &["members", "list"]));
        assert!(
            listed.contains("paused") && listed.contains("看護師; 保健師"),
            "{listed}"
        );
        assert!(
            !run(
                &config,
                &[
                    "members",
                    "pause",
                    "taro..yamada@docomo.ne.jp",
                    "--until",
                    "soon"
                ]
            )
            .status
            .success()
        );
        ok(run(
            &config,
            &["members", "resume", "taro..yamada@docomo.ne.jp"],
        ));
        assert!(ok(run(&config, &["members", "export"])).contains(",ja;en,東京,active"));

        // --replace with a file that lacks Taro marks him left, and keeps him.
        let csv = dir.path().join("one.csv");
        std::fs::write(
            &csv,
            "email,name,skills,bio,languages,region,status\nx@example.org,X,coaching,,en,,\n",
        )
        .unwrap();
        let said = ok(run(
            &config,
            &["members", "import", "--replace", csv.to_str().unwrap()],
        ));
        assert!(
            said.contains("1 added") && said.contains("1 marked as left"),
            "{said}"
        );
        let export = ok(run(&config, &["members", "export"]));
        assert!(
            export.contains("Taro..Yamada@docomo.ne.jp,山田 太郎,看護師;保健師,,ja;en,東京,left"),
            "{export}"
        );

        let missing = run(&config, &["members", "remove", "nobody@example.org"]);
        assert!(!missing.status.success());
        assert!(String::from_utf8_lossy(&missing.stderr).contains("not in the directory"));
    }
}

#[test]
fn init_writes_a_sample_config_and_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("init")
        .current_dir(dir.path())
        .env_remove("CIRCLE_RELAY_DATABASE_URL")
        .output()
        .unwrap();
    ok(out);
    let written = std::fs::read_to_string(dir.path().join("circle-relay.toml")).unwrap();
    assert!(written.contains("[security]") && written.contains("token_secret"));
    assert!(dir.path().join("circle-relay.db").exists());
    // A second init leaves the edited file alone.
    std::fs::write(
        dir.path().join("circle-relay.toml"),
        "[circle]\nname = \"Mine\"\n",
    )
    .unwrap();
    ok(Command::new(BIN)
        .arg("init")
        .current_dir(dir.path())
        .output()
        .unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("circle-relay.toml")).unwrap(),
        "[circle]\nname = \"Mine\"\n"
    );
}

/// The command a missing config's error suggests works: `--config` names a
/// file that does not exist yet, and init writes it there.
#[test]
fn init_writes_the_config_file_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.toml");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("init")
        .current_dir(dir.path())
        .env_remove("CIRCLE_RELAY_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    ok(out);
    assert!(stdout.contains("elsewhere.toml"), "{stdout}");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("[security]") && written.contains("token_secret"));
    assert!(!dir.path().join("circle-relay.toml").exists());
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[database]\nurl = \"sqlite://x.db\"\npool = 3\n").unwrap();
    let out = run(&config, &["migrate"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("[database]") && err.contains("pool"),
        "{err}"
    );
}
