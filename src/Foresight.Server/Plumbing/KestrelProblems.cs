using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Kestrel refuses some requests itself, before any middleware runs: a malformed request line (400), a request line
/// over its 8 KB (414), headers over its 32 KB or 100 fields (431), a bad header or Host (400), a version other than
/// HTTP/1.x (505). It answers those with an empty body and offers no way to change that. So each connection's output
/// passes through <see cref="RejectionWriter"/>: when Kestrel reports that it rejected a request (its documented
/// diagnostic event, raised before it writes the answer), the empty answer it writes next gets a ProblemDetails body.
/// Everything else on the connection passes through untouched. Kestrel's limits stay as they are.
/// </summary>
public static class KestrelProblems
{
    public static IServiceCollection AddKestrelProblemResponses(this IServiceCollection services)
    {
        services.AddSingleton<KestrelRejections>();
        // Endpoint defaults reach every endpoint: --urls, ASPNETCORE_URLS, Kestrel:Endpoints and Listen() in code alike.
        services.Configure<KestrelServerOptions>(o => o.ConfigureEndpointDefaults(listen => listen.Use(next =>
        {
            var rejections = listen.ApplicationServices.GetRequiredService<KestrelRejections>();
            return connection => rejections.OnConnectionAsync(connection, next);
        })));
        return services;
    }
}

/// <summary>Hears Kestrel's rejections and tells the connection's <see cref="RejectionWriter"/> what to answer.</summary>
public sealed class KestrelRejections : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    /// <summary>Raised by Kestrel when it rejects a request, before it writes its answer; the value is the request's features.</summary>
    public const string BadRequestEvent = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    readonly IDisposable _subscription;
    readonly KestrelServerLimits _limits;

    public KestrelRejections(DiagnosticListener diagnostics, IOptions<KestrelServerOptions> kestrel)
    {
        _limits = kestrel.Value.Limits;
        _subscription = diagnostics.Subscribe(this, name => name == BadRequestEvent);
    }

    internal async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var transport = connection.Transport;
        var output = new RejectionWriter(transport.Output);
        // The request's features fall back to the connection's, so the event's handler finds this connection's writer.
        connection.Features.Set(output);
        connection.Transport = new Duplex(transport.Input, output);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }
    }

    sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }

    public void OnNext(KeyValuePair<string, object?> e)
    {
        if (e.Key != BadRequestEvent || e.Value is not IFeatureCollection request || request.Get<RejectionWriter>() is not { } output) return;
        var protocol = request.Get<IHttpRequestFeature>()?.Protocol ?? "";
        // HTTP/2 and 3 frame their answers themselves, and many streams share the connection's output.
        if (HttpProtocol.IsHttp2(protocol) || HttpProtocol.IsHttp3(protocol)) return;
        var error = request.Get<IBadRequestExceptionFeature>()?.Error;
        int status = error is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
        // An answer to HEAD has no body; Kestrel's stays as it is.
        bool head = HttpMethods.IsHead(request.Get<IHttpRequestFeature>()?.Method ?? "");
        output.Expect(head ? null : Problem(status, Detail(status, error?.Message)));
    }

    /// <summary>What went wrong, in words a person can act on, with the limit that was passed.</summary>
    internal string Detail(int status, string? reason)
    {
        // Kestrel quotes the offending bytes only when its Information log is on; otherwise an empty quote remains.
        reason = (reason ?? "").Replace(": ''", "").TrimEnd('.');
        if (reason.Length == 0) reason = ReasonPhrases.GetReasonPhrase(status);
        return status switch
        {
            StatusCodes.Status414UriTooLong =>
                $"The request line (method, path with query, and HTTP version) is longer than the {_limits.MaxRequestLineSize} bytes this server takes. Send " +
                "long data in a request body.",
            StatusCodes.Status431RequestHeaderFieldsTooLarge =>
                $"The request headers are too large ({reason}): this server takes at most {_limits.MaxRequestHeadersTotalSize} bytes of headers in at most " +
                $"{_limits.MaxRequestHeaderCount} fields.",
            StatusCodes.Status408RequestTimeout =>
                $"The request headers did not all arrive within {_limits.RequestHeadersTimeout.TotalSeconds:0} seconds.",
            StatusCodes.Status405MethodNotAllowed =>
                $"{reason}: the request target * is only for OPTIONS, and a target of host:port only for CONNECT.",
            StatusCodes.Status505HttpVersionNotsupported =>
                "This server speaks HTTP/1.1 (and 1.0); the request line names another HTTP version.",
            StatusCodes.Status400BadRequest =>
                $"The server could not read this request: {reason}. A request needs a request line such as GET /path HTTP/1.1, one Host header, "
                + "header names and values of permitted characters, and at most one Content-Length or a Transfer-Encoding that ends in chunked.",
            _ => $"The server refused this request: {reason}.",
        };
    }

    static byte[] Problem(int status, string detail)
    {
        var body = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteString("title", ReasonPhrases.GetReasonPhrase(status));
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteEndObject();
        }
        return body.WrittenSpan.ToArray();
    }

    public void OnError(Exception error) { }

    public void OnCompleted() { }

    public void Dispose() => _subscription.Dispose();
}

/// <summary>
/// A connection's output. Passes everything through, except after <see cref="Expect"/>: then what Kestrel writes is held
/// until it flushes, and if it is Kestrel's empty error answer (an HTTP/1.x status line of 400 or above, headers with
/// Content-Length: 0 and nothing after them), it goes out with the problem body; if not, it goes out as written.
/// </summary>
public sealed class RejectionWriter(PipeWriter inner) : PipeWriter
{
    byte[]? _problem;
    bool _expecting;
    ArrayBufferWriter<byte>? _held;
    // Where the memory last handed out came from, so that Advance commits it there.
    bool _leasedHeld;

    /// <summary>Kestrel has rejected a request and will write its answer next; null leaves that answer as it is.</summary>
    internal void Expect(byte[]? problem)
    {
        _problem = problem;
        _expecting = true;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (Held() is { } held)
        {
            _leasedHeld = true;
            return held.GetMemory(sizeHint);
        }
        _leasedHeld = false;
        return inner.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (_leasedHeld) _held!.Advance(bytes);
        else inner.Advance(bytes);
    }

    ArrayBufferWriter<byte>? Held()
    {
        if (_held is null && _expecting) _held = new ArrayBufferWriter<byte>(256);
        return _held;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Release();
        return inner.FlushAsync(cancellationToken);
    }

    public override void Complete(Exception? exception = null)
    {
        Release();
        inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        Release();
        return inner.CompleteAsync(exception);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes + (_held?.WrittenCount ?? 0);

    /// <summary>Sends on what was held: rewritten if it is the expected empty error answer, else as written.</summary>
    void Release()
    {
        if (_held is not { } held) return;
        var problem = _problem;
        _held = null;
        _problem = null;
        _expecting = false;
        _leasedHeld = false;
        if (problem is not null && WithBody(held.WrittenSpan, problem) is { } answer) inner.Write(answer);
        else inner.Write(held.WrittenSpan);
    }

    /// <summary>Kestrel's empty error answer with the problem as its body, or null if <paramref name="written"/> is not one.</summary>
    internal static byte[]? WithBody(ReadOnlySpan<byte> written, byte[] problem)
    {
        var end = written.IndexOf("\r\n\r\n"u8);
        if (!written.StartsWith("HTTP/1."u8) || end < 0 || end + 4 != written.Length) return null;
        var lines = Encoding.ASCII.GetString(written[..end]).Split("\r\n");
        var status = lines[0].Split(' ');
        if (status.Length < 2 || !int.TryParse(status[1], out var code) || code < 400) return null;
        var headers = lines.Skip(1).ToList();
        if (headers.Count(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) != 1
            || !headers.Any(h => h.Equals("Content-Length: 0", StringComparison.OrdinalIgnoreCase))
            || headers.Any(h => h.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase)
                || h.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase))) return null;

        var head = new StringBuilder();
        head.Append(lines[0]).Append("\r\n");
        foreach (var h in headers.Where(h => !h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))) head.Append(h).Append("\r\n");
        head.Append("Content-Type: application/problem+json\r\n");
        head.Append("Content-Length: ").Append(problem.Length).Append("\r\n");
        head.Append("Content-Security-Policy: ").Append(WebSecurity.ContentSecurityPolicy).Append("\r\n");
        foreach (var (name, value) in WebSecurity.EveryAnswerHeaders) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append("\r\n");
        return [.. Encoding.ASCII.GetBytes(head.ToString()), .. problem];
    }
}
