use std::fs;

use serde_json::json;

use super::*;

fn dirs(files: &[(&str, &str)]) -> (tempfile::TempDir, Renderer) {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["devices", "types"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    for (path, text) in files {
        fs::write(dir.path().join(path), text).unwrap();
    }
    let r = Renderer::new(vec![dir.path().join("devices"), dir.path().join("types")]);
    (dir, r)
}

const BASE: &str = "\
{% set baud = baud_rate|default(115200) %}
{% block body %}{% endblock body %}
console: {{ console_device }},{{ baud }}
{% block extra %}
list: {{ ctrl|default(['c']) }}
flag: {{ flag|default(True) }}
{% endblock extra %}
";

#[test]
fn a_dictionary_extends_its_type_and_takes_the_context() {
    let (_d, r) = dirs(&[
        ("types/base.jinja2", BASE),
        (
            "devices/b1.jinja2",
            "{% extends 'base.jinja2' %}\n{% set console_device = console_device|default('ttyO0') %}\n{% block body %}\nname: b1\n{% endblock %}\n",
        ),
    ]);
    let text = r.render("b1.jinja2", &Map::new()).unwrap();
    assert_eq!(
        text,
        "name: b1\nconsole: ttyO0,115200\nlist: ['c']\nflag: True\n"
    );
    let ctx =
        json!({"console_device": "ttyS2", "baud_rate": 9600, "ctrl": ["a", 1], "flag": false});
    let text = r.render("b1.jinja2", ctx.as_object().unwrap()).unwrap();
    assert!(text.contains("console: ttyS2,9600\n"), "{text}");
    assert!(text.contains("list: ['a', 1]\nflag: False"), "{text}");
}

#[test]
fn errors_name_the_template_line_and_expression() {
    let (d, r) = dirs(&[
        ("types/bad.jinja2", "a: 1\nb: {{ missing.attribute }}\n"),
        ("devices/d1.jinja2", "{% extends 'bad.jinja2' %}\n"),
        ("devices/d2.jinja2", "{% extends 'gone.jinja2' %}\n"),
        ("devices/d3.jinja2", "{% if x %}\nno end\n"),
        ("devices/d4.jinja2", "{% extends '../types/bad.jinja2' %}\n"),
        (
            "devices/d5.jinja2",
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        ),
    ]);
    let e = r.render("d1.jinja2", &Map::new()).unwrap_err().to_string();
    assert_eq!(
        e, "bad.jinja2:2: undefined value (in `missing.attribute`)",
        "{e}"
    );
    let e = r.render("d2.jinja2", &Map::new()).unwrap_err().to_string();
    assert!(e.starts_with("d2.jinja2:1: template not found"), "{e}");
    assert!(
        e.contains(&format!("looked in {}", d.path().join("devices").display())),
        "{e}"
    );
    let e = r.render("d3.jinja2", &Map::new()).unwrap_err().to_string();
    assert!(e.starts_with("d3.jinja2:"), "{e}");
    assert!(e.contains("syntax error"), "{e}");
    let e = r.render("d4.jinja2", &Map::new()).unwrap_err().to_string();
    assert_eq!(
        e,
        "template name \"../types/bad.jinja2\" refused: a template name is a plain file name"
    );
    let e = r.render("d5.jinja2", &Map::new()).unwrap_err().to_string();
    assert!(e.contains("ran out of fuel"), "{e}");
}

#[test]
fn a_render_that_would_fill_memory_is_refused() {
    // Within the fuel (a few thousand steps), but each writes a job's 64 KiB value.
    let (_d, r) = dirs(&[(
        "devices/d.jinja2",
        "{% for i in range(100) %}{{ extra_kernel_args }}{% endfor %}",
    )]);
    let ctx = json!({"extra_kernel_args": "x".repeat(64 * 1024)});
    let e = r
        .render("d.jinja2", ctx.as_object().unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "d.jinja2: the render is larger than {MAX_RENDER_BYTES} bytes, more than a device's YAML may be"
        )
    );
    let ctx = json!({"extra_kernel_args": "x".repeat(1024)});
    let text = r.render("d.jinja2", ctx.as_object().unwrap()).unwrap();
    assert_eq!(text.len(), 100 * 1024);
}

#[test]
fn the_first_directory_wins_and_large_files_are_refused() {
    let (d, r) = dirs(&[
        ("types/t.jinja2", "from types\n"),
        ("devices/t.jinja2", "from devices\n"),
    ]);
    assert_eq!(r.render("t.jinja2", &Map::new()).unwrap(), "from devices");
    let big = d.path().join("types/big.jinja2");
    fs::write(&big, vec![b'x'; MAX_TEMPLATE_BYTES as usize + 1]).unwrap();
    let e = r.render("big.jinja2", &Map::new()).unwrap_err().to_string();
    assert!(e.contains("more than a template may have"), "{e}");
}

#[test]
fn python_methods_work_on_maps() {
    let (_d, r) = dirs(&[(
        "devices/m.jinja2",
        "{% set c = {'a': 'x', 'b': 'y'} %}{{ c.get('b') }}{% for k, v in c.items() %} {{ k }}={{ v }}{% endfor %} {{ 'A' in c }}",
    )]);
    assert_eq!(
        r.render("m.jinja2", &Map::new()).unwrap(),
        "y a=x b=y False"
    );
}
