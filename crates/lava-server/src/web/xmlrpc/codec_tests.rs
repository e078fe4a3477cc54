//! The codec against the layout of LAVA's replies in the reference captures.

use super::*;

#[test]
fn a_struct_keeps_member_order_and_writes_nil_without_newline() {
    let v = Value::structure([
        ("id", Value::Int(213)),
        ("device", Value::Nil),
        ("ok", Value::Bool(true)),
        (
            "t",
            Value::DateTime(
                chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
                    .unwrap()
                    .and_hms_opt(19, 5, 6)
                    .unwrap(),
            ),
        ),
        ("tags", Value::Array(vec![])),
    ]);
    let expected = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n\
<member>\n<name>id</name>\n<value><int>213</int></value>\n</member>\n\
<member>\n<name>device</name>\n<value><nil/></value></member>\n\
<member>\n<name>ok</name>\n<value><boolean>1</boolean></value>\n</member>\n\
<member>\n<name>t</name>\n<value><dateTime.iso8601>20261124T19:05:06</dateTime.iso8601></value>\n</member>\n\
<member>\n<name>tags</name>\n<value><array><data>\n</data></array></value>\n</member>\n\
</struct></value>\n</param>\n</params>\n</methodResponse>\n";
    assert_eq!(response(&v), expected);
}

#[test]
fn base64_is_wrapped_at_76_and_empty_is_a_bare_newline() {
    let data = vec![b'x'; 100];
    let out = response(&Value::Base64(data.clone()));
    let body: Vec<&str> = out
        .split("<base64>\n")
        .nth(1)
        .unwrap()
        .split("</base64>")
        .next()
        .unwrap()
        .lines()
        .collect();
    assert_eq!(body.iter().map(|l| l.len()).collect::<Vec<_>>(), [76, 60]);
    assert!(response(&Value::Base64(vec![])).contains("<value><base64>\n</base64></value>\n"));
    let (_, params) = parse_call(call("m", &[Value::Base64(data.clone())]).as_bytes()).unwrap();
    assert_eq!(params, [Value::Base64(data)]);
}

#[test]
fn faults_and_escapes_are_as_python_writes_them() {
    let f = fault(-32601, "No such method: 'a<b>&c'");
    assert_eq!(
        f,
        "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n\
<member>\n<name>faultCode</name>\n<value><int>-32601</int></value>\n</member>\n\
<member>\n<name>faultString</name>\n<value><string>No such method: 'a&lt;b&gt;&amp;c'</string></value>\n</member>\n\
</struct></value>\n</fault>\n</methodResponse>\n"
    );
}

#[test]
fn reads_lavacli_calls_with_nil_strings_entities_and_untyped_values() {
    let body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>scheduler.jobs.list</methodName>\n<params>\n\
<param>\n<value><nil/></value></param>\n<param>\n<value><string>a &lt;b&gt; &#233;</string></value>\n</param>\n\
<param>\n<value><int>3</int></value>\n</param>\n<param>\n<value><boolean>0</boolean></value>\n</param>\n\
<param>\n<value>bare</value>\n</param>\n<param>\n<value><struct>\n<member>\n<name>k</name>\n<value><i4>7</i4></value>\n</member>\n</struct></value>\n</param>\n\
</params>\n</methodCall>\n";
    let (name, params) = parse_call(body.as_bytes()).unwrap();
    assert_eq!(name, "scheduler.jobs.list");
    assert_eq!(
        params,
        [
            Value::Nil,
            Value::str("a <b> é"),
            Value::Int(3),
            Value::Bool(false),
            Value::str("bare"),
            Value::Struct(vec![("k".into(), Value::Int(7))]),
        ]
    );
    assert!(parse_call(b"not xml").is_err());
    assert!(parse_call(b"<methodCall><params/></methodCall>").is_err());
}

#[test]
fn a_base64_reply_in_pieces_is_the_reply_whole() {
    for len in [
        0,
        1,
        56,
        57,
        BASE64_PIECE - 1,
        BASE64_PIECE,
        2 * BASE64_PIECE + 1000,
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let whole = response(&Value::Array(vec![
            Value::Bool(true),
            Value::Base64(data.clone()),
        ]));
        let (head, tail) = base64_reply_parts(&Value::Bool(true));
        let mut pieces = head;
        for piece in data.chunks(BASE64_PIECE) {
            base64_lines(piece, &mut pieces);
        }
        pieces.push_str(tail);
        assert_eq!(pieces, whole, "{len} bytes");
    }
}

#[test]
fn values_nest_64_deep_and_no_deeper() {
    // Structs in structs, as the codec writes them: 64 levels read back, 65 are refused.
    let nested = |depth: usize| {
        let mut v = Value::Int(1);
        for _ in 1..depth {
            v = Value::structure([("k", v)]);
        }
        v
    };
    let (_, params) = parse_call(call("m", &[nested(64)]).as_bytes()).unwrap();
    assert_eq!(params, [nested(64)]);
    let err = parse_call(call("m", &[nested(65)]).as_bytes()).unwrap_err();
    assert!(matches!(err, DecodeError::TooDeep), "{err}");
    // Elements that are not values, nested past any call's shape, are refused too.
    let deep = format!(
        "<methodCall><methodName>m</methodName>{}{}</methodCall>",
        "<x>".repeat(10_000),
        "</x>".repeat(10_000)
    );
    assert!(matches!(
        parse_call(deep.as_bytes()),
        Err(DecodeError::TooDeep)
    ));
}
