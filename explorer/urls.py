from django.urls import path

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("areas/<str:code>/", views.AreaView.as_view(), name="area-page"),
]
