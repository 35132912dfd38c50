using System.Net.Sockets;
using System.Text;

namespace Foresight.Testing;

/// <summary>
/// Requests written byte for byte to a TCP connection, for what HttpClient will not send (a malformed request line, a
/// broken chunk size). The connection is left open after sending (Kestrel takes a half-closed connection as gone and
/// may drop its answer), and the answers are read until they are complete or the server closes the connection.
/// </summary>
public static class RawHttp
{
    public sealed record Answer(string StatusLine, int Status, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
    {
        public string? Header(string name) => Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
        public string Text => Encoding.UTF8.GetString(Body);
    }

    /// <summary>The answers to what was sent, in order; <paramref name="expected"/> is how many to wait for.</summary>
    /// <param name="heads">which of the answers are to HEAD requests, which have no body whatever their headers say</param>
    public static async Task<List<Answer>> SendAsync(Uri server, byte[] request, int expected = 1, ISet<int>? heads = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        // Only for a server that never answers: waits on the answer, not on a speed.
        using var stuck = new CancellationTokenSource(Wait.Guard);
        var received = new List<byte>();
        var buffer = new byte[64 * 1024];
        List<Answer> answers = [];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, stuck.Token);
            }
            catch (IOException)
            {
                read = 0; // reset after its answer: what arrived before counts
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no complete answer in {Wait.Guard.TotalSeconds:0} s (a guard against a hang); received {received.Count} bytes: " +
                    $"{Encoding.Latin1.GetString(received.ToArray())}");
            }
            if (read == 0) return Parse(received.ToArray(), heads, out _);
            received.AddRange(buffer.AsSpan(0, read));
            answers = Parse(received.ToArray(), heads, out bool partial);
            if (answers.Count >= expected && !partial) return answers;
        }
    }

    /// <summary>The complete answers in <paramref name="bytes"/>; <paramref name="partial"/> is whether more bytes follow them.</summary>
    static List<Answer> Parse(byte[] bytes, ISet<int>? heads, out bool partial)
    {
        var answers = new List<Answer>();
        int at = 0;
        while (at < bytes.Length)
        {
            int end = bytes.AsSpan(at).IndexOf("\r\n\r\n"u8);
            if (end < 0) break;
            var lines = Encoding.Latin1.GetString(bytes, at, end).Split("\r\n");
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2).Select(p => (p[0].Trim(), p[1].Trim())).ToList();
            var parts = lines[0].Split(' ');
            int status = parts.Length > 1 && int.TryParse(parts[1], out var s) ? s : 0;
            int bodyAt = at + end + 4;
            string? Header(string name) => headers.Where(h => h.Item1.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Item2).FirstOrDefault();
            byte[] body;
            if (heads?.Contains(answers.Count) == true || status is 204 or 304 || status < 200)
                body = [];
            else if (Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
            {
                if (Dechunk(bytes, bodyAt, out var next) is not { } whole) break;
                body = whole;
                bodyAt = next;
                answers.Add(new Answer(lines[0], status, headers, body));
                at = bodyAt;
                continue;
            }
            else if (Header("Content-Length") is { } length && int.TryParse(length, out var n))
            {
                if (bytes.Length - bodyAt < n) break;
                body = bytes[bodyAt..(bodyAt + n)];
            }
            else
                body = bytes[bodyAt..]; // to the end of the connection
            answers.Add(new Answer(lines[0], status, headers, body));
            at = bodyAt + body.Length;
        }
        partial = at < bytes.Length;
        return answers;
    }

    static byte[]? Dechunk(byte[] bytes, int at, out int next)
    {
        var body = new List<byte>();
        next = at;
        while (true)
        {
            int line = bytes.AsSpan(at).IndexOf("\r\n"u8);
            if (line < 0) return null;
            int size = Convert.ToInt32(Encoding.ASCII.GetString(bytes, at, line).Split(';')[0], 16);
            at += line + 2;
            if (size == 0)
            {
                int end = bytes.AsSpan(at).IndexOf("\r\n"u8); // no trailers from this server: the empty line
                if (end < 0) return null;
                next = at + end + 2;
                return [.. body];
            }
            if (bytes.Length < at + size + 2) return null;
            body.AddRange(bytes.AsSpan(at, size));
            at += size + 2;
        }
    }
}
