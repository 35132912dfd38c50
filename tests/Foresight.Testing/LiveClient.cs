using Xunit;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Connections;
using Foresight.Server.Features.Live;
using Microsoft.AspNetCore.SignalR.Client;

namespace Foresight.Testing;

/// <summary>A live-hub client for tests: keeps the snapshot, every message received, and the latest state per topic.</summary>
public sealed class LiveClient : IAsyncDisposable
{
    public HubConnection Connection { get; }
    public JsonNode? Snapshot { get; private set; }
    public ConcurrentQueue<(string Method, JsonNode Message, DateTime At)> Received { get; } = new();
    public ConcurrentDictionary<string, JsonNode> Topics { get; } = new();
    public JsonNode? Progress { get; private set; }
    public ConcurrentDictionary<string, long> Seqs { get; } = new();
    /// <summary>Messages whose seq was not the stream's last + 1.</summary>
    public ConcurrentQueue<string> Gaps { get; } = new();

    LiveClient(HubConnection connection)
    {
        Connection = connection;
        foreach (var method in new[] { nameof(ILiveClient.Update), nameof(ILiveClient.Round), nameof(ILiveClient.Report), nameof(ILiveClient.Snapshot) })
            connection.On<JsonElement>(method, e => Handle(method.ToLowerInvariant(), JsonNode.Parse(e.GetRawText())!));
    }

    void Handle(string method, JsonNode m)
    {
        lock (this)
        {
            Received.Enqueue((method, m, DateTime.UtcNow));
            if (method == "snapshot") { Apply(m); return; }
            var stream = m["stream"]!.GetValue<string>();
            var seq = m["seq"]!.GetValue<long>();
            if (Seqs.TryGetValue(stream, out var last) && seq <= last) return; // already in the snapshot
            if (Seqs.TryGetValue(stream, out last) && seq != last + 1) Gaps.Enqueue($"{stream}: {last} -> {seq}");
            Seqs[stream] = seq;
            if (m["progress"] is JsonObject p) Progress = p.DeepClone();
            foreach (var t in m["topics"]?.AsArray() ?? []) Topics[t!["topic"]!.GetValue<string>()] = t.DeepClone();
        }
    }

    void Apply(JsonNode snapshot)
    {
        foreach (var (stream, seq) in snapshot["streams"]!.AsObject()) Seqs[stream] = seq!.GetValue<long>();
        if (snapshot["progress"] is JsonObject p) Progress = p.DeepClone();
        foreach (var t in snapshot["topics"]!.AsArray()) Topics[t!["topic"]!.GetValue<string>()] = t.DeepClone();
    }

    public static async Task<LiveClient> ConnectAsync(ForesightFactory app, string? token, HttpTransportType transport = HttpTransportType.WebSockets)
    {
        var url = new Uri(app.KestrelAddress ?? new Uri("http://localhost"), "/hubs/live");
        var builder = new HubConnectionBuilder().WithUrl(url, o =>
        {
            o.Transports = transport;
            if (token is not null) o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            if (app.KestrelAddress is null)
            {
                o.HttpMessageHandlerFactory = _ => app.Server.CreateHandler();
                o.WebSocketFactory = async (context, ct) =>
                {
                    var ws = app.Server.CreateWebSocketClient();
                    if (token is not null) ws.ConfigureRequest = r => r.Headers.Authorization = $"Bearer {token}";
                    return await ws.ConnectAsync(context.Uri, ct);
                };
            }
        });
        var connection = builder.Build();
        var client = new LiveClient(connection);
        await connection.StartAsync();
        return client;
    }

    public async Task<JsonNode> JoinAsync(string survey)
    {
        var snapshot = JsonNode.Parse((await Connection.InvokeAsync<JsonElement>("Join", survey)).GetRawText())!;
        lock (this) { Snapshot = snapshot; Apply(snapshot); }
        return snapshot;
    }

    /// <summary>Waits until a condition over the client's state holds (<see cref="Wait.Guard"/> only against a hang).</summary>
    public Task WaitAsync(Func<LiveClient, bool> condition, string what) =>
        Wait.UntilAsync(() => { lock (this) return Task.FromResult(condition(this)); },
        () => { lock (this) return $"{what}; received {Received.Count} messages"; }, pollMs: 20);

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}
