using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Foresight.Server.Features.Live;

/// <summary>
/// The live hub at /hubs/live, with the API's credentials (bearer token or invitation secret as access_token, or
/// the session cookie). Join(survey) adds the caller to the streams their role may see and returns the snapshot;
/// a client that notices a gap in a stream's sequence numbers calls Join again.
/// </summary>
[Authorize]
public sealed class LiveHub(LivePublisher publisher, LiveConnections connections) : Hub
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
