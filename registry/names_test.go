package registry

import "testing"

func TestNames(t *testing.T) {
	tests := []struct {
		in                   string
		camel, pascal, goNam string
	}{
		{"user", "user", "User", "User"},
		{"recent_clicked_articles", "recentClickedArticles", "RecentClickedArticles", "RecentClickedArticles"},
		{"region_id", "regionId", "RegionId", "RegionID"},
		{"region_id_v2", "regionIdV2", "RegionIdV2", "RegionIDV2"},
		{"region_id2", "regionId2", "RegionId2", "RegionId2"},
		{"is_os_x", "isOsX", "IsOsX", "IsOSX"},
		{"os", "os", "Os", "OS"},
		{"id", "id", "Id", "ID"},
		{"api_url", "apiUrl", "ApiUrl", "APIURL"},
		{"http_status_code", "httpStatusCode", "HttpStatusCode", "HTTPStatusCode"},
		{"ip_address", "ipAddress", "IpAddress", "IPAddress"},
		{"json_payload", "jsonPayload", "JsonPayload", "JSONPayload"},
		{"user_uuid", "userUuid", "UserUuid", "UserUUID"},
		{"user_ids", "userIds", "UserIds", "UserIds"}, // "ids" is not an initialism
		{"v2", "v2", "V2", "V2"},
		{"a_b_c", "aBC", "ABC", "ABC"},
		{"double__underscore", "doubleUnderscore", "DoubleUnderscore", "DoubleUnderscore"},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		if got := Camel(tt.in); got != tt.camel {
			t.Errorf("Camel(%q) = %q, want %q", tt.in, got, tt.camel)
		}
		if got := Pascal(tt.in); got != tt.pascal {
			t.Errorf("Pascal(%q) = %q, want %q", tt.in, got, tt.pascal)
		}
		if got := GoName(tt.in); got != tt.goNam {
			t.Errorf("GoName(%q) = %q, want %q", tt.in, got, tt.goNam)
		}
	}
}

func TestJoinName(t *testing.T) {
	tests := []struct {
		field, join, want string
	}{
		{"article_id", "article", "article"},
		{"seller_id", "user", "seller"}, // the field name says the role
		{"buyer", "user", "user"},       // no _id suffix: the entity's name
		{"id", "user", "user"},
		{"article_ids", "article", "article"}, // only a trailing "_id" is cut
		{"article_id", "", ""},                // no join
	}
	for _, tt := range tests {
		f := &Field{Name: tt.field, Join: tt.join}
		if got := f.JoinName(); got != tt.want {
			t.Errorf("Field{%s join %q}.JoinName() = %q, want %q", tt.field, tt.join, got, tt.want)
		}
	}
}

func TestGraphQLNames(t *testing.T) {
	reg := mustParse(t, map[string]string{"a.yaml": `entities:
  user: {prefix: u}
  ad_campaign: {prefix: ac, plural: ad_campaigns_list}
features:
  ad_campaign:
    recent_ad_clicks:
      featureType: action
      fields:
        - {name: user_id, type: Int, join: user}
        - {name: click_url, type: String}
    budget_krw: {featureType: static, type: Int}
`})
	e := reg.Entity("ad_campaign")
	f := e.Feature("recent_ad_clicks")
	for _, tt := range []struct{ what, got, want string }{
		{"TypeName", e.TypeName(), "AdCampaign"},
		{"QueryField", e.QueryField(), "adCampaign"},
		{"BatchQueryField", e.BatchQueryField(), "adCampaignsList"},
		{"default plural", reg.Entity("user").BatchQueryField(), "users"},
		{"feature GraphQLName", f.GraphQLName(), "recentAdClicks"},
		{"static GraphQLName", e.Feature("budget_krw").GraphQLName(), "budgetKrw"},
		{"EventTypeName", f.EventTypeName(), "AdCampaignRecentAdClicksEvent"},
		{"field GraphQLName", f.Fields[1].GraphQLName(), "clickUrl"},
		{"join field JoinName", f.Fields[0].JoinName(), "user"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.what, tt.got, tt.want)
		}
	}
}
