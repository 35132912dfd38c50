using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Carries committed changes between server nodes through Redis pub/sub (ConnectionStrings:Redis), so that the caches,
/// the live state and the open connections of every node follow a change made on any node. A message names its node,
/// which ignores its own; the database stays the truth, so a message lost while a node is away costs only that node's
/// caches their freshness until their next read of the store.
/// </summary>
public sealed class RedisChangeRelay(IConfiguration configuration, IServiceProvider services, ILogger<RedisChangeRelay> log)
    : IChangeRelay, IHostedService, IAsyncDisposable
{
    public const string Channel = "foresight:changes";
    readonly string _node = Guid.NewGuid().ToString("n");
    ConnectionMultiplexer? _redis;
    ISubscriber? _bus;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration.GetConnectionString("Redis")!);
        _bus = _redis.GetSubscriber();
        var changes = services.GetRequiredService<ChangeEvents>();
        await _bus.SubscribeAsync(RedisChannel.Literal(Channel), (channel, message) => { _ = ReceiveAsync(changes, message); });
        log.LogInformation("Changes are relayed between nodes through Redis ({Channel}); this node is {Node}", Channel, _node);
    }

    public void Send(object change)
    {
        if (_bus is null) return;
        var message = new JsonObject
        {
            ["node"] = _node,
            ["kind"] = change.GetType().Name,
            ["change"] = JsonSerializer.SerializeToNode(change, change.GetType(), Json.Stored),
        };
        _ = _bus.PublishAsync(RedisChannel.Literal(Channel), message.ToJsonString()).ContinueWith(
            t => log.LogWarning(t.Exception, "A change could not be relayed to the other nodes"), TaskContinuationOptions.OnlyOnFaulted);
    }

    async Task ReceiveAsync(ChangeEvents changes, RedisValue message)
    {
        try
        {
            var node = JsonNode.Parse((string)message!)!;
            if (node["node"]?.GetValue<string>() == _node) return;
            if (!ChangeEvents.Kinds.TryGetValue(node["kind"]!.GetValue<string>(), out var kind)) return;
            var change = node["change"].Deserialize(kind.Type, Json.Stored)!;
            await changes.ReceiveAsync(change);
        }
        catch (Exception e) { log.LogWarning(e, "A relayed change could not be read"); }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_bus is not null) await _bus.UnsubscribeAllAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null) await _redis.DisposeAsync();
    }
}

public static class ChangeRelayRegistration
{
    /// <summary>With ConnectionStrings:Redis set, changes travel between the server nodes; without it, one node has them all.</summary>
    public static IServiceCollection AddChangeRelay(this IServiceCollection services, IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString("Redis"))) return services;
        services.AddSingleton<RedisChangeRelay>();
        services.AddSingleton<IChangeRelay>(sp => sp.GetRequiredService<RedisChangeRelay>());
        return services.AddHostedService(sp => sp.GetRequiredService<RedisChangeRelay>());
    }
}
