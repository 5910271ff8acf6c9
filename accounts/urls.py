from django.urls import path

from .views import mypage

app_name = "accounts"

urlpatterns = [
    path("mypage/", mypage.mypage, name="mypage"),
    path("signout/", mypage.signout, name="signout"),
]
