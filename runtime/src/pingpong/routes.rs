//! Which service answers a ping-pong call: TTHeader names the service,
//! Framed and Buffered only the method.

use std::sync::Arc;

use super::exception::{ApplicationException, ExceptionKind};
use super::service::{echoed, unknown_method, MethodKind, PingPongService};

/// The ping-pong services of a server, and how a call finds its service.
pub(crate) struct PingPongRoutes {
    services: Vec<Arc<dyn PingPongService>>,
    default: Option<&'static str>,
}

impl PingPongRoutes {
    pub(crate) fn new() -> Self {
        PingPongRoutes {
            services: Vec::new(),
            default: None,
        }
    }

    pub(crate) fn add(&mut self, svc: Arc<dyn PingPongService>) {
        self.services
            .retain(|s| s.service_name() != svc.service_name());
        self.services.push(svc);
    }

    pub(crate) fn set_default(&mut self, name: &'static str) {
        self.default = Some(name);
    }

    /// TTHeader names the service (`isn`): route by it. Framed and Buffered
    /// name only the method: route to the one service that has it, or to the
    /// default service when several do.
    pub(super) fn route(
        &self,
        service: Option<&str>,
        method: &str,
    ) -> Result<(&Arc<dyn PingPongService>, MethodKind), ApplicationException> {
        if let Some(name) = service {
            if let Some(svc) = self.services.iter().find(|s| s.service_name() == name) {
                return match svc.method_kind(method) {
                    Some(kind) => Ok((svc, kind)),
                    None => Err(unknown_method(name, method)),
                };
            }
        }
        let having: Vec<&Arc<dyn PingPongService>> = self
            .services
            .iter()
            .filter(|s| s.method_kind(method).is_some())
            .collect();
        let shown = echoed(method);
        let chosen = match having.as_slice() {
            [] => {
                return Err(ApplicationException::new(
                    ExceptionKind::UNKNOWN_METHOD,
                    match service {
                        Some(s) => {
                            format!("unknown method `{shown}`: no service `{}` here", echoed(s))
                        }
                        None => format!("unknown method `{shown}`"),
                    },
                ))
            }
            [one] => *one,
            many => match many.iter().find(|s| Some(s.service_name()) == self.default) {
                Some(s) => *s,
                None => {
                    let names: Vec<&str> = many.iter().map(|s| s.service_name()).collect();
                    return Err(ApplicationException::new(
                        ExceptionKind::UNKNOWN_METHOD,
                        format!(
                            "unknown method `{shown}`: the name is ambiguous, served by {}; the server has no default service",
                            names.join(", ")
                        ),
                    ));
                }
            },
        };
        let kind = chosen.method_kind(method).unwrap_or(MethodKind::Call);
        Ok((chosen, kind))
    }
}
