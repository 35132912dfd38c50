using Foresight.Server.Features.Rounds;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Foresight.Server.Features.Live;

/// <summary>
/// The live hub at /hubs/live, with the API's credentials (bearer token or invitation secret as access_token, or
/// the session cookie). Join(survey) adds the caller to the streams their role may see and returns the snapshot;
/// a client that notices a gap in a stream's sequence numbers calls Join again.
/// </summary>
[Authorize]
public sealed class LiveHub(LivePublisher publisher, LiveConnections connections) : Hub<ILiveClient>
{
    public const string Path = "/hubs/live";

    public Task<LiveSnapshot> Join(string survey) =>
        publisher.JoinAsync(Context.ConnectionId, Context.User!, survey, Context.GetHttpContext());

    public override Task OnConnectedAsync()
    {
        connections.Opened(Context);
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        connections.Closed(Context.ConnectionId);
        publisher.Disconnected(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}

/// <summary>
/// The messages hub clients receive, by these names (the browser's client matches them without regard to case). Every
/// message carries its stream and sequence number; a client that sees a gap joins again for a snapshot.
/// </summary>
public interface ILiveClient
{
    /// <summary>What changed in a stream since its last message: the latest state of each changed topic, and the progress.</summary>
    Task Update(LiveUpdate message);

    /// <summary>The round opened, closed or had its deadline moved.</summary>
    Task Round(LiveRoundEvent message);

    /// <summary>A state to start from: at join, or when an expert's connection joins a topic's Real-Time stream.</summary>
    Task Snapshot(LiveSnapshot message);

    /// <summary>A report's PDF is ready.</summary>
    Task Report(LiveReportReady message);
}

public static class LiveSetup
{
    /// <summary>The hub (its calls checked by <see cref="LiveAccessFilter"/>), its connections, and the live state that follows every change.</summary>
    public static IServiceCollection AddLive(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSignalR(o => o.AddFilter<LiveAccessFilter>()).AddJsonProtocol(o => Json.Configure(o.PayloadSerializerOptions));
        services.AddSingleton<LiveConnections>()
            .AddChangeHandler<MemberAccessEnded, LiveConnections>().AddChangeHandler<UserAccessEnded, LiveConnections>()
            .AddChangeHandler<TokenAccessEnded, LiveConnections>();
        services.Configure<LiveOptions>(configuration.GetSection(LiveOptions.Section));
        services.AddSingleton<LivePublisher>().AddHostedService(sp => sp.GetRequiredService<LivePublisher>())
            .AddSingleton<IOpenRoundConsensus>(sp => sp.GetRequiredService<LivePublisher>())
            .AddChangeHandler<AnswerSaved, LivePublisher>().AddChangeHandler<RankingSaved, LivePublisher>()
            .AddChangeHandler<RoundOpened, LivePublisher>().AddChangeHandler<RoundClosed, LivePublisher>()
            .AddChangeHandler<DeadlineChanged, LivePublisher>().AddChangeHandler<PanelChanged, LivePublisher>();
        return services;
    }

    public static void MapLive(this IEndpointRouteBuilder app) => app.MapHub<LiveHub>(LiveHub.Path);
}
