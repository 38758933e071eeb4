import Foundation
import Hummingbird
import Synchronization

/// Counters and latency histograms in the Prometheus text format, kept in process.
final class ServerMetrics: Sendable {
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var sum = 0.0
        var count = 0
    }

    private struct State {
        var requests: [String: Int] = [:]
        var latency: [String: Histogram] = [:]
        var eventsIngested = 0
    }

    private let state = Mutex(State())

    func recordRequest(method: String, route: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests["method=\"\(method)\",route=\"\(route)\",status=\"\(status)\"", default: 0] += 1
            var histogram = state.latency["route=\"\(route)\"", default: Histogram()]
            for (i, bound) in Self.buckets.enumerated() where seconds <= bound { histogram.counts[i] += 1 }
            histogram.sum += seconds
            histogram.count += 1
            state.latency["route=\"\(route)\""] = histogram
        }
    }

    func recordEvents(_ count: Int) {
        state.withLock { $0.eventsIngested += count }
    }

    func render(productsIndexed: Int, model: String) -> String {
        state.withLock { state in
            var out = "# HELP curator_http_requests_total HTTP requests by method, route and status.\n# TYPE curator_http_requests_total counter\n"
            for (labels, value) in state.requests.sorted(by: { $0.key < $1.key }) { out += "curator_http_requests_total{\(labels)} \(value)\n" }
            out += "# HELP curator_http_request_duration_seconds Request latency by route.\n# TYPE curator_http_request_duration_seconds histogram\n"
            for (labels, h) in state.latency.sorted(by: { $0.key < $1.key }) {
                for (i, bound) in Self.buckets.enumerated() {
                    out += "curator_http_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(h.counts[i])\n"
                }
                out += "curator_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(h.count)\n"
                out += "curator_http_request_duration_seconds_sum{\(labels)} \(h.sum)\n"
                out += "curator_http_request_duration_seconds_count{\(labels)} \(h.count)\n"
            }
            out += "# HELP curator_events_ingested_total Events stored through the API.\n# TYPE curator_events_ingested_total counter\n"
            out += "curator_events_ingested_total \(state.eventsIngested)\n"
            out += "# HELP curator_products_indexed Products that can be recommended.\n# TYPE curator_products_indexed gauge\n"
            out += "curator_products_indexed \(productsIndexed)\n"
            out += "# HELP curator_model_info The model that scores recommendations.\n# TYPE curator_model_info gauge\n"
            out += "curator_model_info{model=\"\(model)\"} 1\n"
            return out
        }
    }
}

/// Times every request and counts it under its route pattern (not the raw path, which would
/// make one series per shopper).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        func seconds() -> Double {
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        do {
            let response = try await next(request, context)
            metrics.recordRequest(method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                                  status: Int(response.status.code), seconds: seconds())
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                                  status: Int(status), seconds: seconds())
            throw error
        }
    }
}
