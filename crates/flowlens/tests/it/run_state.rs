//! `flowlens run` startup and shutdown: definitions survive a restart with the same state
//! directory, a corrupt state file is set aside without stopping the start, and a startup error
//! is one line and exit status 2.

use crate::run_support;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Command;

use run_support::{temp_dir, Ports, Server};
use serde_json::json;

#[test]
fn definitions_survive_a_restart() {
    let dir = temp_dir("state-restart");
    let s = Server::start(&dir);
    for (path, body) in [
        ("/group/json", "{external:['0.0.0.0/0'], internal:['10.0.0.0/8']}"),
        ("/group/dc/json", "{inside:['10.0.0.0/8']}"),
        ("/map/svc/json", "{web:['80','443']}"),
        ("/flow/uports/json", "{keys:'icmpunreachableport', value:'frames', t:20}"),
        (
            "/flow/ddos/json",
            "{keys:'ipsource,map:tcpdestinationport:svc',value:'frames',filter:'sourcegroup=external'}",
        ),
        ("/flow/gone/json", "{value:'bytes'}"),
        ("/threshold/flood/json", "{metric:'ddos', value:1000, byFlow:true, timeout:5}"),
    ] {
        let r = s.put(path, body);
        assert_eq!(r.status, 204, "PUT {path}: {}", r.body);
    }
    assert_eq!(s.delete("/flow/gone/json").status, 204);
    // Saved at every write, not only at shutdown.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("definitions.json")).unwrap()).unwrap();
    assert!(saved["flows"].get("ddos").is_some(), "{saved}");
    assert!(saved["flows"].get("gone").is_none(), "{saved}");
    let before = [
        s.get_json("/flow/json"),
        s.get_json("/threshold/json"),
        s.get_json("/group/json"),
        s.get_json("/map/json"),
    ];
    let (status, stderr) = s.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("stopped; state saved"), "{stderr}");

    let s = Server::start(&dir);
    let after = [
        s.get_json("/flow/json"),
        s.get_json("/threshold/json"),
        s.get_json("/group/json"),
        s.get_json("/map/json"),
    ];
    assert_eq!(before, after);
    assert_eq!(after[0].as_object().unwrap().len(), 2, "{}", after[0]);
    assert!(!s.stderr().contains("not restored"), "{}", s.stderr());
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_definitions_file_is_set_aside() {
    let dir = temp_dir("state-corrupt");
    std::fs::write(
        dir.join("definitions.json"),
        b"{\"version\":1,\"flows\":{\"x\":",
    )
    .unwrap();
    let s = Server::start(&dir);
    let stderr = s.stderr_with(&[" is corrupt"]);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" is corrupt"))
        .collect();
    assert_eq!(complaints.len(), 1, "{stderr}");
    assert!(complaints[0].contains("definitions.json"), "{stderr}");
    assert_eq!(s.get_json("/flow/json"), json!({}));
    let aside: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("definitions.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(!dir.join("definitions.json").exists());
    // The server works and writes a fresh file.
    assert_eq!(s.put("/flow/f/json", "{value:'bytes'}").status, 204);
    assert!(dir.join("definitions.json").exists());
    drop(s);

    // A document of an unknown version is set aside too; a template snapshot that does not
    // restore as well.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("definitions.json"), b"{\"version\":99}").unwrap();
    std::fs::write(dir.join("templates.bin"), b"garbage").unwrap();
    let s = Server::start(&dir);
    let stderr = s.stderr_with(&["definitions.json is corrupt", "templates.bin is corrupt"]);
    assert_eq!(
        stderr.lines().filter(|l| l.contains(" is corrupt")).count(),
        2,
        "{stderr}"
    );
    assert!(!dir.join("definitions.json").exists());
    assert!(!dir.join("templates.bin").exists());
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn http_port_in_use_is_one_line_and_exit_2() {
    let dir = temp_dir("state-inuse");
    let taken = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let mut ports = Ports::free();
    ports.http = taken.local_addr().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(ports.args(&dir))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "flowlens: cannot listen for HTTP on TCP {}: ",
            ports.http
        )),
        "{stderr}"
    );
    assert!(stderr.contains("in use"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_state_directory_in_use_is_one_line_and_exit_2() {
    let dir = temp_dir("state-locked");
    let first = Server::start(&dir);
    let ports = Ports::free();
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(ports.args(&dir))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is in use by another flowlens run"),
        "{stderr}"
    );
    // Once the first stops, the directory is free again.
    let (status, _) = first.stop();
    assert!(status.success());
    drop(Server::start(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn udp_port_in_use_and_unusable_state_dir_are_one_line_and_exit_2() {
    let dir = temp_dir("state-udp");
    let taken = std::net::UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let mut ports = Ports::free();
    ports.netflow = taken.local_addr().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(ports.args(&dir))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "flowlens: cannot listen for netflow on UDP {}: ",
            ports.netflow
        )),
        "{stderr}"
    );

    // A state directory that cannot be created (its parent is a file).
    let file = dir.join("file");
    std::fs::write(&file, b"").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(Ports::free().args(&file.join("state")))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("flowlens: cannot create state directory"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// True when an IPFIX message carries a template or options template set.
fn has_templates(msg: &[u8]) -> bool {
    let mut off = 16;
    while off + 4 <= msg.len() {
        let id = u16::from_be_bytes([msg[off], msg[off + 1]]);
        let len = usize::from(u16::from_be_bytes([msg[off + 2], msg[off + 3]]));
        if id == 2 || id == 3 {
            return true;
        }
        if len < 4 {
            break;
        }
        off += len;
    }
    false
}

#[test]
fn ipfix_templates_survive_a_restart() {
    let dir = temp_dir("state-templates");
    let payloads = run_support::udp_payloads(&run_support::exporter_capture("ipfix-ovs.pcap"));
    let (with, without): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
        payloads.into_iter().partition(|p| has_templates(p));
    assert!(!with.is_empty() && !without.is_empty());

    let s = Server::start(&dir);
    run_support::send_all(s.ports.ipfix, &with, 100, |sent| {
        s.wait_for("/analyzer/json", |a| a["netflowDatagramsReceived"] == sent);
    });
    let learned = s.get_json("/analyzer/json")["netflowTemplates"]
        .as_u64()
        .unwrap();
    assert!(learned > 0);
    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");

    // The new process knows the templates before the exporter resends them: data decodes.
    let s = Server::start(&dir);
    assert_eq!(s.get_json("/analyzer/json")["netflowTemplates"], learned);
    run_support::send_all(s.ports.ipfix, &without, 100, |sent| {
        s.wait_for("/analyzer/json", |a| a["netflowDatagramsReceived"] == sent);
    });
    let a = s.get_json("/analyzer/json");
    assert!(a["netflowRecords"].as_u64().unwrap() > 0, "{a}");
    assert_eq!(a["netflowDataHeldBytes"], 0, "{a}");
    assert_eq!(a["netflowRecordErrors"], 0, "{a}");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_file_settings_and_errors() {
    let dir = temp_dir("state-config");
    let ports = Ports::free();
    let cfg = dir.join("flowlens.toml");
    std::fs::write(
        &cfg,
        format!(
            "# flowlens run settings\nhttp = \"{}\"\nsflow = \"{}\"\nnetflow = \"{}\"\n\
             ipfix = \"{}\"\nstate-dir = \"state\"\nread-only = true\n",
            ports.http, ports.sflow, ports.netflow, ports.ipfix
        ),
    )
    .unwrap();
    let args = vec![
        "run".to_string(),
        "--config".into(),
        cfg.display().to_string(),
    ];
    let s = Server::try_start(ports, &args).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.put("/flow/f/json", "{value:'bytes'}").status,
        403,
        "read-only from the file"
    );
    let a = s.get_json("/analyzer/json");
    let bound: Vec<&str> = a["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        bound,
        [ports.sflow, ports.netflow, ports.ipfix].map(|p| p.to_string())
    );
    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        dir.join("state").join("definitions.json").is_file(),
        "state-dir relative to the file"
    );

    // A misspelt key: one line naming the file, the line and the key; exit 2.
    std::fs::write(&cfg, "http = \"127.0.0.1:1\"\nsflw = \"127.0.0.1:2\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("flowlens: bad config "), "{stderr}");
    assert!(
        stderr.contains("line 2") && stderr.contains("sflw"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
