using System.Security.Claims;
using Dapper;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Experts;

/// <summary>
/// Who may see and change which expert of the shared pool. Several agencies' coordinators share one server, and an
/// expert's e-mail address is where every survey sends that expert's personal link; so:
/// <list type="bullet">
/// <item>an admin sees and changes every expert;</item>
/// <item>a coordinator sees the experts they added to the pool and those on the panel of a survey they coordinate;</item>
/// <item>a coordinator changes an expert's details only when the expert sits on no survey they do not coordinate
/// (otherwise a coordinator of survey B could redirect survey A's invitations to an address of their own).</item>
/// </list>
/// The conditions are SQL over the alias <c>e</c> (experts) with the parameters of <see cref="Parameters"/>.
/// </summary>
public static class ExpertAccess
{
    public const string Visible = """
        (@admin = 1 OR e.created_by = @caller OR EXISTS (
            SELECT 1 FROM panel_members pm JOIN survey_coordinators sc ON sc.survey_id = pm.survey_id
            WHERE pm.expert_id = e.id AND sc.user_id = @caller))
        """;

    public const string Changeable = Visible + """
         AND (@admin = 1 OR NOT EXISTS (
            SELECT 1 FROM panel_members pm WHERE pm.expert_id = e.id
              AND pm.survey_id NOT IN (SELECT survey_id FROM survey_coordinators WHERE user_id = @caller)))
        """;

    /// <summary>The caller's parameters for <see cref="Visible"/> and <see cref="Changeable"/>, beside the query's own.</summary>
    public static DynamicParameters Parameters(ClaimsPrincipal user, object? more = null)
    {
        var p = new DynamicParameters(more);
        p.Add("admin", user.IsAdmin() ? 1 : 0);
        p.Add("caller", user.UserId() ?? 0);
        return p;
    }

    public enum Standing { Unknown, Visible, Changeable }

    /// <summary>What the caller may do with one expert: nothing (unknown to them), see it, or also change it.</summary>
    public static async Task<Standing> OfAsync(System.Data.IDbConnection c, System.Data.IDbTransaction? tx, ClaimsPrincipal user, long expertId)
    {
        var row = await c.QuerySingleOrDefaultAsync<(long Visible, long Changeable)>(
            $"SELECT 1, CASE WHEN {Changeable} THEN 1 ELSE 0 END FROM experts e WHERE e.id = @id AND {Visible}",
            Parameters(user, new { id = expertId }), tx);
        return row.Visible == 0 ? Standing.Unknown : row.Changeable == 1 ? Standing.Changeable : Standing.Visible;
    }
}

/// <summary>
/// Checks the route's expert ({id}) against <see cref="ExpertAccess"/> before the body is even read: an expert the caller
/// may not see is answered as one that does not exist (404), an expert they may see but not change with 403.
/// </summary>
public sealed class ExpertAccessFilter(ExpertAccess.Standing needed) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!long.TryParse(http.GetRouteValue("id")?.ToString(), out var id)) return Problems.NotFound("There is no such expert in your pool.");
        await using var c = await http.RequestServices.GetRequiredService<Db>().OpenAsync(http.RequestAborted);
        var standing = await ExpertAccess.OfAsync(c, null, http.User, id);
        if (standing == ExpertAccess.Standing.Unknown) return Problems.NotFound($"There is no expert {id} in your pool.");
        if (standing < needed) return Problems.Forbidden(
            $"Expert {id} also sits on the panel of a survey you do not coordinate. Their details decide where that survey's invitations go, " +
            "so only an admin (or a coordinator of every survey they sit on) can change them.");
        return await next(context);
    }
}
