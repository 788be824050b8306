import { createServer } from "node:http"
import { Effect } from "effect"

/** One request an OTLP/HTTP exporter sent: its path (`/v1/traces`, `/v1/metrics`, `/v1/logs`) and its body. */
export interface OtlpRequest {
  readonly path: string
  readonly body: string
}

/** An OTLP/HTTP receiver on 127.0.0.1 that keeps every request, in order; closed with the scope. */
export const otlpReceiver = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly received: Array<OtlpRequest>; readonly close: () => void }>(
    (resume) => {
      const received: Array<OtlpRequest> = []
      const server = createServer((request, response) => {
        let body = ""
        request.setEncoding("utf8")
        request.on("data", (chunk: string) => {
          body += chunk
        })
        request.on("end", () => {
          received.push({ path: request.url ?? "", body })
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, close: () => server.close() }))
      })
    }
  ),
  (server) => Effect.sync(server.close)
)
