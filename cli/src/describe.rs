//! `tonic-thrift describe`: services, methods, modes and types as text.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use tonic_thrift_build::descriptor::{
    Descriptor, FieldDescriptor, MethodDescriptor, Mode, Requiredness, ServiceDescriptor, Ty,
    TypeId, TypeKind,
};

fn mode(m: &MethodDescriptor) -> &'static str {
    match m.mode {
        Mode::Bidirectional => "bidirectional",
        Mode::ClientStreaming => "client",
        Mode::ServerStreaming => "server",
        Mode::Unary => "unary",
        Mode::PingPong if m.oneway => "oneway",
        Mode::PingPong => "ping-pong",
    }
}

fn field(desc: &Descriptor, f: &FieldDescriptor) -> String {
    let req = match f.requiredness {
        Requiredness::Required => "required ",
        Requiredness::Optional => "optional ",
        Requiredness::Default => "",
    };
    format!("{}: {req}{} {}", f.id, desc.type_name(&f.ty), f.name)
}

fn method_line(desc: &Descriptor, m: &MethodDescriptor) -> String {
    let args: Vec<String> = m.args.iter().map(|f| field(desc, f)).collect();
    let result = m
        .result
        .as_ref()
        .map_or("void".to_string(), |t| desc.type_name(t));
    let mut s = format!("  {} {}({}) [{}]", result, m.name, args.join(", "), mode(m));
    if !m.throws.is_empty() {
        let t: Vec<String> = m.throws.iter().map(|f| field(desc, f)).collect();
        s.push_str(&format!(" throws ({})", t.join(", ")));
    }
    s
}

fn service(desc: &Descriptor, s: &ServiceDescriptor, out: &mut String) {
    let _ = writeln!(out, "service {} ({})", s.name, s.full_name);
    for m in &s.methods {
        let _ = writeln!(out, "{}", method_line(desc, m));
    }
}

/// Collects the named types `ty` uses, transitively.
fn collect(desc: &Descriptor, ty: &Ty, seen: &mut BTreeSet<TypeId>) {
    match ty {
        Ty::List(e) | Ty::Set(e) => collect(desc, e, seen),
        Ty::Map(k, v) => {
            collect(desc, k, seen);
            collect(desc, v, seen);
        }
        Ty::Named(id) => {
            if !seen.insert(*id) {
                return;
            }
            match &desc.type_def(*id).kind {
                TypeKind::Struct(s) => s.fields.iter().for_each(|f| collect(desc, &f.ty, seen)),
                TypeKind::Typedef(t) => collect(desc, t, seen),
                TypeKind::Enum(_) => {}
            }
        }
        _ => {}
    }
}

fn type_text(desc: &Descriptor, id: TypeId, out: &mut String) {
    let t = desc.type_def(id);
    let name = desc.type_name(&Ty::Named(id));
    match &t.kind {
        TypeKind::Struct(s) => {
            let kw = match s.kind {
                tonic_thrift_build::descriptor::StructKind::Struct => "struct",
                tonic_thrift_build::descriptor::StructKind::Union => "union",
                tonic_thrift_build::descriptor::StructKind::Exception => "exception",
            };
            let _ = writeln!(out, "{kw} {name} {{");
            for f in &s.fields {
                let _ = writeln!(out, "  {}", field(desc, f));
            }
            let _ = writeln!(out, "}}");
        }
        TypeKind::Enum(e) => {
            let values: Vec<String> = e
                .values
                .iter()
                .map(|v| format!("{} = {}", v.name, v.number))
                .collect();
            let _ = writeln!(out, "enum {name} {{ {} }}", values.join(", "));
        }
        TypeKind::Typedef(ty) => {
            let _ = writeln!(out, "typedef {} {name}", desc.type_name(ty));
        }
    }
}

/// The text `describe` prints, or an error naming what was not found.
pub(crate) fn describe(desc: &Descriptor, target: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    let Some(target) = target else {
        for s in desc.services() {
            service(desc, s, &mut out);
            out.push('\n');
        }
        // Types of the main file, by name (unique within a file).
        for t in desc.types().iter().filter(|t| t.file == 0) {
            if let Some((id, _)) = desc.type_by_name(&t.name) {
                type_text(desc, id, &mut out);
            }
        }
        return Ok(out);
    };
    let (svc_name, method) = match target.rsplit_once('.') {
        Some((s, m)) if desc.service(s).is_some() => (s, Some(m)),
        _ => (target, None),
    };
    let svc = desc
        .service(svc_name)
        .ok_or_else(|| format!("no service `{svc_name}` in the IDL"))?;
    let mut seen = BTreeSet::new();
    match method {
        None => {
            service(desc, svc, &mut out);
            for m in &svc.methods {
                method_types(desc, m, &mut seen);
            }
        }
        Some(name) => {
            let m = svc
                .method(name)
                .ok_or_else(|| format!("service `{}` has no method `{name}`", svc.name))?;
            let _ = writeln!(out, "{}  {}", method_line(desc, m).trim_start(), m.path);
            method_types(desc, m, &mut seen);
        }
    }
    for id in seen {
        out.push('\n');
        type_text(desc, id, &mut out);
    }
    Ok(out)
}

fn method_types(desc: &Descriptor, m: &MethodDescriptor, seen: &mut BTreeSet<TypeId>) {
    for f in m.args.iter().chain(&m.throws) {
        collect(desc, &f.ty, seen);
    }
    if let Some(t) = &m.result {
        collect(desc, t, seen);
    }
}
