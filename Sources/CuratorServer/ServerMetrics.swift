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
        var listsServed: [String: Int] = [:]
        var attributed: [String: Int] = [:]
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

    /// A list served, by surface and the model that ranked it.
    func recordServed(surface: String, model: String) {
        state.withLock { $0.listsServed["surface=\"\(surface)\",model=\"\(model)\"", default: 0] += 1 }
    }

    /// Events that named the list they started from, by type.
    func recordAttributed(type: String, count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.attributed["type=\"\(type)\"", default: 0] += count }
    }

    func render(productsIndexed: Int, model: String, onlineLog: (pending: Int, dropped: Int) = (0, 0),
                vectorSearches: (searches: Int, exactScans: Int)? = nil) -> String {
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
            out += "# HELP curator_lists_served_total Recommendation, similar-product and search lists served, by surface and model.\n"
            out += "# TYPE curator_lists_served_total counter\n"
            for (labels, value) in state.listsServed.sorted(by: { $0.key < $1.key }) { out += "curator_lists_served_total{\(labels)} \(value)\n" }
            out += "# HELP curator_events_with_recommendation_total Events that named the served list they started from, by type.\n"
            out += "# TYPE curator_events_with_recommendation_total counter\n"
            for (labels, value) in state.attributed.sorted(by: { $0.key < $1.key }) {
                out += "curator_events_with_recommendation_total{\(labels)} \(value)\n"
            }
            out += "# HELP curator_online_log_pending Served lists, seen reports and attributions not yet stored.\n# TYPE curator_online_log_pending gauge\n"
            out += "curator_online_log_pending \(onlineLog.pending)\n"
            out += "# HELP curator_online_log_dropped_total Entries dropped while the store could not take them.\n"
            out += "# TYPE curator_online_log_dropped_total counter\ncurator_online_log_dropped_total \(onlineLog.dropped)\n"
            if let vectorSearches {
                // Exact scans cost time in proportion to the catalogue: at a million products they are the slowest requests.
                out += "# HELP curator_vector_searches_total Searches of the catalogue's vector graph.\n# TYPE curator_vector_searches_total counter\n"
                out += "curator_vector_searches_total \(vectorSearches.searches)\n"
                out += "# HELP curator_vector_exact_scans_total Graph searches answered by scanning every product (a selective filter, or a short result).\n"
                out += "# TYPE curator_vector_exact_scans_total counter\ncurator_vector_exact_scans_total \(vectorSearches.exactScans)\n"
            }
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
