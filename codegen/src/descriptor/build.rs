//! A checked [`Program`] → a [`Descriptor`]: the syntax tree left behind,
//! names resolved to type ids, values resolved against their types.

use std::collections::HashMap;

use super::{
    Annotation, ConstDescriptor, ConstValue, Descriptor, EnumDescriptor, EnumValue,
    FieldDescriptor, FileDescriptor, MethodDescriptor, Mode, Namespace, Requiredness,
    ServiceDescriptor, Span, StructDescriptor, StructKind, Ty, TypeDescriptor, TypeId, TypeKind,
};
use crate::ast::{self, ConstKind, Definition};
use crate::check::{self, mode_of};
use crate::gen::consts::enum_values;
use crate::resolve::{self, DefId, Program};

/// Describes a checked program.
pub(super) fn describe(p: &Program) -> Descriptor {
    let mut ids = HashMap::new();
    for (fi, f) in p.files.iter().enumerate() {
        for (di, d) in f.doc.definitions.iter().enumerate() {
            if matches!(
                d,
                Definition::Struct(_) | Definition::Enum(_) | Definition::Typedef(_)
            ) {
                ids.insert(DefId { file: fi, def: di }, TypeId(ids.len()));
            }
        }
    }
    let b = Builder { p, ids };
    let mut d = Descriptor {
        files: (0..p.files.len()).map(|fi| b.file(fi)).collect(),
        types: Vec::with_capacity(b.ids.len()),
        services: Vec::new(),
        consts: Vec::new(),
    };
    for (fi, f) in p.files.iter().enumerate() {
        for (di, def) in f.doc.definitions.iter().enumerate() {
            let id = DefId { file: fi, def: di };
            match def {
                Definition::Struct(s) => d.types.push(b.struct_like(fi, s)),
                Definition::Enum(e) => d.types.push(b.enumeration(fi, e)),
                Definition::Typedef(t) => d.types.push(b.typedef(fi, t)),
                Definition::Service(s) => d.services.push(b.service(id, s)),
                Definition::Const(c) => d.consts.push(b.constant(fi, c)),
            }
        }
    }
    d
}

struct Builder<'a> {
    p: &'a Program,
    /// Type-table index of every struct-like, enum and typedef definition.
    ids: HashMap<DefId, TypeId>,
}

impl Builder<'_> {
    fn span(&self, file: usize, span: ast::Span) -> Span {
        let (line, col) = crate::diag::line_col(&self.p.files[file].src, span.start);
        Span { file, line, col }
    }

    /// `<include name>.<name>` for a name declared in `file`.
    fn qualified(&self, file: usize, name: &str) -> String {
        format!("{}.{name}", include_name(self.p, file))
    }

    fn file(&self, fi: usize) -> FileDescriptor {
        let f = &self.p.files[fi];
        FileDescriptor {
            path: f.path.clone(),
            display: f.display.clone(),
            include_name: include_name(self.p, fi),
            module: self.p.modules[fi].clone(),
            package: self.p.package(fi),
            namespaces: f
                .doc
                .namespaces
                .iter()
                .map(|n| Namespace {
                    scope: n.scope.name.clone(),
                    name: n.name.name.clone(),
                })
                .collect(),
            includes: f.includes.iter().map(|&(_, i)| i).collect(),
        }
    }

    /// A type of the checked program, written in `file`.
    fn ty(&self, file: usize, ty: &ast::Type) -> Ty {
        match self.p.resolve_type(file, ty) {
            Ok(t) => self.convert(&t),
            // Unreachable for a checked program, which resolves every type.
            Err(_) => Ty::Bool,
        }
    }

    fn convert(&self, t: &resolve::Ty) -> Ty {
        match t {
            resolve::Ty::Bool => Ty::Bool,
            resolve::Ty::I8 => Ty::I8,
            resolve::Ty::I16 => Ty::I16,
            resolve::Ty::I32 => Ty::I32,
            resolve::Ty::I64 => Ty::I64,
            resolve::Ty::Double => Ty::Double,
            resolve::Ty::String => Ty::String,
            resolve::Ty::Binary => Ty::Binary,
            resolve::Ty::Uuid => Ty::Uuid,
            resolve::Ty::List(e) => Ty::List(Box::new(self.convert(e))),
            resolve::Ty::Set(e) => Ty::Set(Box::new(self.convert(e))),
            resolve::Ty::Map(k, v) => Ty::Map(Box::new(self.convert(k)), Box::new(self.convert(v))),
            resolve::Ty::Def(id) => Ty::Named(self.ids[id]),
        }
    }

    fn fields(&self, file: usize, fields: &[ast::Field]) -> Vec<FieldDescriptor> {
        fields
            .iter()
            .map(|f| {
                let resolved = self.p.resolve_type(file, &f.ty).ok();
                FieldDescriptor {
                    // The checker requires an id in the i16 range.
                    id: f.id.and_then(|(id, _)| i16::try_from(id).ok()).unwrap_or(0),
                    name: f.name.name.clone(),
                    requiredness: match f.requiredness {
                        ast::Requiredness::Required => Requiredness::Required,
                        ast::Requiredness::Optional => Requiredness::Optional,
                        ast::Requiredness::Default => Requiredness::Default,
                    },
                    ty: self.ty(file, &f.ty),
                    default: f
                        .default
                        .as_ref()
                        .zip(resolved)
                        .map(|(v, t)| self.value(file, &t, v, 0)),
                    annotations: annotations(&f.annotations),
                    doc: f.doc.clone(),
                    span: self.span(file, f.span),
                }
            })
            .collect()
    }

    fn named(
        &self,
        file: usize,
        name: &ast::Ident,
        kind: TypeKind,
        anns: &[ast::Annotation],
        doc: &Option<String>,
    ) -> TypeDescriptor {
        TypeDescriptor {
            name: name.name.clone(),
            qualified_name: self.qualified(file, &name.name),
            file,
            kind,
            annotations: annotations(anns),
            doc: doc.clone(),
            span: self.span(file, name.span),
        }
    }

    fn struct_like(&self, file: usize, s: &ast::StructLike) -> TypeDescriptor {
        let kind = match s.kind {
            ast::StructKind::Struct => StructKind::Struct,
            ast::StructKind::Union => StructKind::Union,
            ast::StructKind::Exception => StructKind::Exception,
        };
        let body = StructDescriptor {
            kind,
            fields: self.fields(file, &s.fields),
        };
        self.named(
            file,
            &s.name,
            TypeKind::Struct(body),
            &s.annotations,
            &s.doc,
        )
    }

    fn enumeration(&self, file: usize, e: &ast::Enum) -> TypeDescriptor {
        let values = e
            .variants
            .iter()
            .zip(enum_values(e))
            .map(|(v, number)| EnumValue {
                name: v.name.name.clone(),
                // The checker keeps enum values in the i32 range.
                number: i32::try_from(number).unwrap_or(0),
                annotations: annotations(&v.annotations),
                doc: v.doc.clone(),
                span: self.span(file, v.name.span),
            })
            .collect();
        let kind = TypeKind::Enum(EnumDescriptor { values });
        self.named(file, &e.name, kind, &e.annotations, &e.doc)
    }

    fn typedef(&self, file: usize, t: &ast::Typedef) -> TypeDescriptor {
        let kind = TypeKind::Typedef(self.ty(file, &t.ty));
        self.named(file, &t.name, kind, &t.annotations, &t.doc)
    }

    fn constant(&self, file: usize, c: &ast::Const) -> ConstDescriptor {
        let value = match self.p.resolve_type(file, &c.ty) {
            Ok(t) => self.value(file, &t, &c.value, 0),
            Err(_) => ConstValue::Bool(false),
        };
        ConstDescriptor {
            name: c.name.name.clone(),
            qualified_name: self.qualified(file, &c.name.name),
            file,
            ty: self.ty(file, &c.ty),
            value,
            annotations: annotations(&c.annotations),
            doc: c.doc.clone(),
            span: self.span(file, c.name.span),
        }
    }

    /// A checked value written in `file`, resolved against `t`: the reading
    /// the generator gives it in `gen/consts.rs`.
    fn value(&self, file: usize, t: &resolve::Ty, v: &ast::ConstValue, depth: usize) -> ConstValue {
        let p = self.p;
        if let ConstKind::Ident(name) = &v.kind {
            if let Some((cid, c)) = p.lookup_const(file, name) {
                if depth < 32 {
                    return self.value(cid.file, t, &c.value, depth + 1);
                }
            }
        }
        let list = |e: &resolve::Ty, items: &[ast::ConstValue]| {
            let items = items.iter().map(|i| self.value(file, e, i, depth + 1));
            ConstValue::List(items.collect())
        };
        match (p.underlying(t), &v.kind) {
            (resolve::Ty::Bool, ConstKind::Ident(i)) => ConstValue::Bool(i == "true"),
            (resolve::Ty::Bool, ConstKind::Int(n)) => ConstValue::Bool(*n != 0),
            (resolve::Ty::Double, ConstKind::Int(n)) => ConstValue::Double(*n as f64),
            (resolve::Ty::Double, ConstKind::Double(d)) => ConstValue::Double(*d),
            (_, ConstKind::Int(n)) => ConstValue::Int(*n),
            (resolve::Ty::Binary, ConstKind::String(s)) => ConstValue::Binary(s.as_bytes().into()),
            (_, ConstKind::String(s)) => ConstValue::String(s.clone()),
            (resolve::Ty::List(e) | resolve::Ty::Set(e), ConstKind::List(items)) => list(&e, items),
            (resolve::Ty::Map(kt, vt), ConstKind::Map(entries)) => ConstValue::Map(
                entries
                    .iter()
                    .map(|(k, val)| {
                        (
                            self.value(file, &kt, k, depth + 1),
                            self.value(file, &vt, val, depth + 1),
                        )
                    })
                    .collect(),
            ),
            (resolve::Ty::Def(id), kind) => match (p.def(id), kind) {
                (Definition::Enum(e), ConstKind::Ident(i)) => {
                    let number = p
                        .enum_value(id, i)
                        .and_then(|at| enum_values(e).get(at).copied())
                        .unwrap_or(0);
                    ConstValue::Int(number)
                }
                (Definition::Struct(s), ConstKind::Map(entries)) => {
                    let fields = entries.iter().filter_map(|(k, val)| {
                        let ConstKind::String(name) = &k.kind else {
                            return None;
                        };
                        let f = s.fields.iter().find(|f| &f.name.name == name)?;
                        let fty = p.resolve_type(id.file, &f.ty).ok()?;
                        let fid = i16::try_from(f.id?.0).ok()?;
                        Some((fid, self.value(file, &fty, val, depth + 1)))
                    });
                    ConstValue::Struct(fields.collect())
                }
                // Unreachable for a checked program.
                _ => ConstValue::Bool(false),
            },
            // Unreachable for a checked program.
            _ => ConstValue::Bool(false),
        }
    }

    fn service(&self, id: DefId, s: &ast::Service) -> ServiceDescriptor {
        let full_name = format!("{}.{}", self.p.package(id.file), s.name.name);
        // Bases first; a derived service's method replaces a base's of the
        // same name in its place, as in the generated trait.
        let mut methods: Vec<(&str, MethodDescriptor)> = Vec::new();
        for (sid, svc) in self.p.service_chain(id, s).into_iter().rev() {
            for f in &svc.functions {
                let name = f.name.name.as_str();
                let m = self.method(sid.file, &full_name, f);
                match methods.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = m,
                    None => methods.push((name, m)),
                }
            }
        }
        let extends = s.extends.as_ref().and_then(|e| {
            let (bid, b) = self.p.lookup_service(id.file, e).ok()?;
            Some(self.qualified(bid.file, &b.name.name))
        });
        ServiceDescriptor {
            name: s.name.name.clone(),
            qualified_name: self.qualified(id.file, &s.name.name),
            full_name,
            file: id.file,
            extends,
            methods: methods.into_iter().map(|(_, m)| m).collect(),
            annotations: annotations(&s.annotations),
            doc: s.doc.clone(),
            span: self.span(id.file, s.name.span),
        }
    }

    fn method(&self, file: usize, full_name: &str, f: &ast::Function) -> MethodDescriptor {
        MethodDescriptor {
            name: f.name.name.clone(),
            path: format!("/{full_name}/{}", f.name.name),
            mode: match mode_of(f) {
                check::Mode::Bidi => Mode::Bidirectional,
                check::Mode::Client => Mode::ClientStreaming,
                check::Mode::Server => Mode::ServerStreaming,
                check::Mode::Unary => Mode::Unary,
                check::Mode::PingPong => Mode::PingPong,
            },
            oneway: f.oneway.is_some(),
            args: self.fields(file, &f.args),
            result: f.result.as_ref().map(|t| self.ty(file, t)),
            throws: self.fields(file, &f.throws),
            annotations: annotations(&f.annotations),
            doc: f.doc.clone(),
            span: self.span(file, f.name.span),
        }
    }
}

fn annotations(list: &[ast::Annotation]) -> Vec<Annotation> {
    list.iter()
        .map(|a| Annotation {
            key: a.key.name.clone(),
            value: a.value.clone(),
        })
        .collect()
}

/// The name including files use for `file`: its file stem.
fn include_name(p: &Program, file: usize) -> String {
    p.files[file]
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
