//! The moto helper that every AWS test stands on.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;

fn python() -> std::path::PathBuf {
    std::env::var_os("PACKER_ECS_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| "python3".into())
}

#[test]
fn moto_answers_sts_on_its_own_port_and_records_the_call() {
    let moto = moto::Moto::start(&python()).unwrap();
    moto.start_recording().unwrap();
    let answer = moto.sts("Action=GetCallerIdentity").unwrap();
    assert!(
        answer.contains("<Account>123456789012</Account>"),
        "{answer}"
    );
    let recording = moto.recording().unwrap();
    assert_eq!(recording.lines().count(), 1, "{recording}");
    assert!(
        recording.contains(&format!("127.0.0.1:{}", moto.port())),
        "{recording}"
    );
}

#[test]
fn two_servers_get_different_ports() {
    let a = moto::Moto::start(&python()).unwrap();
    let b = moto::Moto::start(&python()).unwrap();
    assert_ne!(a.port(), b.port());
}

#[test]
fn a_fresh_moto_has_no_live_instances_but_knows_the_ecs_al2023_amis() {
    let moto = moto::Moto::start(&python()).unwrap();
    assert_eq!(moto.live_instances().unwrap(), Vec::<String>::new());
    let images = moto
        .ec2(
            "Action=DescribeImages&Owner.1=amazon&Filter.1.Name=name\
             &Filter.1.Value.1=al2023-ami-ecs-hvm-*-kernel-6.1-x86_64",
        )
        .unwrap();
    assert!(!moto::xml_values(&images, "imageId").is_empty(), "{images}");
}
