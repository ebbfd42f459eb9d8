"""User management (trust data team only). Same store as `destinations users`."""
import pandas as pd
import streamlit as st

from dashboards.lib import users as store
from dashboards.lib import ui

ctx = ui.page("Users", "trust_admin",
              caption="Who can sign in, with which role and academies. Passwords are stored as "
                      "salted argon2 hashes; single sign-on users are matched by email.")
path = store.users_file(ctx.data_dir)
rows = [store.public_view(u) for u in store.load_users(path).values()]
st.dataframe(pd.DataFrame(rows, columns=["username", "role", "urns", "email", "display_name",
                                         "password_login"]),
             hide_index=True, width="stretch", key="users_table")

with st.form("add_user", clear_on_submit=True):
    st.subheader("Add or update a user")
    c1, c2 = st.columns(2)
    name = c1.text_input("User name", key="nu_name")
    role = c2.selectbox("Role", store.ROLES, format_func=store.ROLE_LABELS.get, key="nu_role")
    urns = st.text_input("Academy URNs (academy users; comma separated)", key="nu_urns")
    email = st.text_input("Email for single sign-on (optional)", key="nu_email")
    pw = st.text_input("Password (at least 10 characters; blank for single sign-on only)",
                       type="password", key="nu_pw")
    replace = st.checkbox("Update if the user exists", key="nu_replace")
    if st.form_submit_button("Save user"):
        try:
            store.add_user(name.strip(), role, [u.strip() for u in urns.split(",") if u.strip()],
                           password=pw or None, email=email.strip() or None, replace=replace, path=path,
                           by=ctx.user.username)
            st.success(f"Saved {name}.")
            st.rerun()
        except store.UserStoreError as exc:
            st.error(str(exc))

with st.form("remove_user"):
    st.subheader("Remove a user")
    others = [r["username"] for r in rows if r["username"] != ctx.user.username]
    who = st.selectbox("User", others, key="ru_name")
    if st.form_submit_button("Remove") and who:
        store.remove_user(who, path, by=ctx.user.username)
        st.success(f"Removed {who}.")
        st.rerun()
