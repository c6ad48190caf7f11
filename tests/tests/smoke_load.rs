use alexa::classifier::{decode_event, Classifier};

#[test]
fn loads_and_classifies_one_frame() {
    let mut c = Classifier::load().expect("load");
    c.add_device("10.0.0.2".parse().unwrap()).unwrap();
    let mut ring = c.take_events().unwrap();
    // Ethernet + IPv4 + TCP SYN from 10.0.0.2:40000 to 10.0.0.1:443
    let mut f = vec![0u8; 54];
    f[12] = 0x08;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&40u16.to_be_bytes());
    f[23] = 6;
    f[26..30].copy_from_slice(&[10, 0, 0, 2]);
    f[30..34].copy_from_slice(&[10, 0, 0, 1]);
    f[34..36].copy_from_slice(&40000u16.to_be_bytes());
    f[36..38].copy_from_slice(&443u16.to_be_bytes());
    f[46] = 0x50;
    f[47] = 0x02;
    let (ret, _) = c.test_run(&f, 1).unwrap();
    assert_eq!(ret, 2);
    let item = ring.next().expect("an event");
    let ev = decode_event(&item).unwrap();
    assert_eq!(ev.features.dstport, 443);
    assert_eq!(ev.features.tcp_flags, 2);
    println!("{ev:?}");
}
