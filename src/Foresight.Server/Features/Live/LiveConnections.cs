using System.Collections.Concurrent;
using System.Security.Claims;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.SignalR;

namespace Foresight.Server.Features.Live;

/// <summary>
/// The hub's open connections on this node, so that access that ends (a revoked or renewed invitation, a signed-out
/// token, a disabled account, a coordinator or stakeholder removed from a survey) also ends the connections made with
/// it: they are closed at once, and the client must connect and join again with what it may still use.
/// </summary>
public sealed class LiveConnections : IChangeHandler<MemberAccessEnded>, IChangeHandler<UserAccessEnded>, IChangeHandler<TokenAccessEnded>,
    IFollowsEveryNode
{
    readonly ConcurrentDictionary<string, HubCallerContext> _open = new(StringComparer.Ordinal);

    public Task HandleAsync(MemberAccessEnded change) => Close(u => u.MemberId() == change.MemberId);

    // Removed from one survey: the account's other connections close too; they join again at once, and only to what
    // they may still watch.
    public Task HandleAsync(UserAccessEnded change) => Close(u => u.UserId() == change.UserId);

    public Task HandleAsync(TokenAccessEnded change) => Close(u => u.FindFirstValue(Caller.TokenClaim) == change.TokenHash);

    public void Opened(HubCallerContext context) => _open[context.ConnectionId] = context;

    public void Closed(string connectionId) => _open.TryRemove(connectionId, out _);

    Task Close(Func<ClaimsPrincipal, bool> whose)
    {
        foreach (var (id, context) in _open)
            if (context.User is { } user && whose(user))
            {
                context.Abort();
                _open.TryRemove(id, out _);
            }
        return Task.CompletedTask;
    }
}

/// <summary>
/// Every hub call checks that the credential the connection was made with still holds, as every REST request does,
/// so that a connection whose access ended cannot join again before it is closed.
/// </summary>
public sealed class LiveAccessFilter(CredentialStore credentials) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocation, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (invocation.Context.User is not { } user || !await credentials.StillValidAsync(user))
        {
            invocation.Context.Abort();
            throw new HubException(
                "Your access has ended: the invitation link was renewed or revoked, or the sign-in ended. Open the survey again from a valid link or sign in.");
        }
        return await next(invocation);
    }
}
