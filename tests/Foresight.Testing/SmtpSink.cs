using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace Foresight.Testing;

/// <summary>
/// A small SMTP server on 127.0.0.1 for tests: it accepts every message (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
/// keeps it parsed with MimeKit, and can refuse the next few messages with a temporary error, or keep them and close
/// the connection instead of answering (as when the network fails just as a server has taken a message).
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource _stop = new();
    readonly Task _accepting;
    int _refuse;
    int _drop;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public ConcurrentQueue<MimeMessage> Messages { get; } = new();
    /// <summary>Every DATA command seen, accepted or refused.</summary>
    public int Attempts => _attempts;
    int _attempts;

    public SmtpSink()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The next <paramref name="count"/> messages get "451 try again later".</summary>
    public void RefuseNext(int count) => Interlocked.Exchange(ref _refuse, count);

    /// <summary>The next <paramref name="count"/> messages are kept, but the connection is closed before the "250" that would tell the sender.</summary>
    public void DropAfterAccepting(int count) => Interlocked.Exchange(ref _drop, count);

    async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.Latin1);
        var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
        try
        {
            await writer.WriteLineAsync("220 sink.test ESMTP");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var command = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                switch (command)
                {
                    case "EHLO": await writer.WriteLineAsync("250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8"); break;
                    case "HELO": await writer.WriteLineAsync("250 sink.test"); break;
                    case "MAIL" or "RCPT" or "RSET" or "NOOP": await writer.WriteLineAsync("250 OK"); break;
                    case "QUIT": await writer.WriteLineAsync("221 bye"); return;
                    case "DATA":
                        await writer.WriteLineAsync("354 end with <CRLF>.<CRLF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(_stop.Token) is { } l && l != ".")
                            data.Append(l.StartsWith("..", StringComparison.Ordinal) ? l[1..] : l).Append("\r\n");
                        Interlocked.Increment(ref _attempts);
                        if (Interlocked.Decrement(ref _refuse) >= 0) { await writer.WriteLineAsync("451 4.3.0 try again later"); break; }
                        Interlocked.Exchange(ref _refuse, 0);
                        Messages.Enqueue(MimeMessage.Load(new MemoryStream(Encoding.Latin1.GetBytes(data.ToString()))));
                        if (Interlocked.Decrement(ref _drop) >= 0) return;
                        Interlocked.Exchange(ref _drop, 0);
                        await writer.WriteLineAsync("250 queued");
                        break;
                    default: await writer.WriteLineAsync("502 not implemented"); break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
    }

    /// <summary>Waits until at least <paramref name="count"/> messages match (<see cref="Wait.Guard"/> only against a hang).</summary>
    public Task<List<MimeMessage>> WaitAsync(Func<MimeMessage, bool> match, int count, string what) =>
        Wait.ForAsync(() => Task.FromResult(Messages.Where(match).ToList()), found => found.Count >= count,
            found => $"{count} {what}; {found.Count} arrived ({Messages.Count} messages in all)");

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accepting; } catch (Exception) { }
    }
}
