// The types of the `parse-prometheus-text-format` package (it ships none), as far as the metrics tests use it.
declare module "parse-prometheus-text-format" {
  interface ParsedMetric {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  interface ParsedFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    metrics: ParsedMetric[];
  }
  /** Parses a Prometheus text exposition; throws `InvalidLineError` on a line it cannot read. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
